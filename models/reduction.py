"""Ingredient-count reduction: merge rare ingredients into similar frequent ones and retrain.

An ingredient seen in few training recipes gets a poorly trained vector, or an untrained one if
it appears only in test recipes. Merging it into a frequent ingredient that plays the same role
shrinks the vocabulary and gives its recipes a trained vector; whether that helps is measured by
cross-validation.

Definitions. For one cross-validation fold, an ingredient's *frequency* is the number of that
fold's training recipes that contain it. At threshold ``t`` an ingredient is *rare* when its
frequency is below ``t`` (``t = 1``: it is in no training recipe; ``t = 2``: in at most one);
``t = 0`` merges nothing and is the reference every other threshold is compared with. Each rare
ingredient is renamed, in every recipe of the dataset (training and test), to a frequent one
(frequency >= ``t``):

``nearest``
    the frequent ingredient whose vector in a reference model's ingredient table is nearest
    (L2). When none is given, the reference model is trained on every measured formulation
    (10% held out for early stopping) so that rare ingredients have trained vectors. The merge
    map then draws, through those vectors, on each fold's test recipes and measurements, which
    can flatter merging a little; pass a ``reference_model`` trained on other data to avoid it.
``group``
    the frequent member of its expert group (``ingredients.csv``) found in most training
    recipes; a rare ingredient without a group or without a frequent group member stays.

Amounts of ingredients merged into the same code within one recipe are summed. The same folds
(``models.splits.kfold_splits``) and training seed serve every threshold, so each fold gives a
paired difference to ``t = 0``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from models.choices import REDUCTION_STRATEGIES
from models.data import Dataset
from models.intervals import t_interval, t_test_pvalue
from models.pipeline import fit_model, measured_formulations
from models.splits import Split, kfold_splits, random_split
from models.trained import TrainedModel
from models.training import TrainConfig

STRATEGIES = REDUCTION_STRATEGIES


@dataclass(frozen=True)
class ReductionResult:
    """Cross-validated test error for each merge threshold, and its difference to no merging.

    ``records`` has one row per (fold, threshold): the fold's split name and a digest of its
    test formulations (equal across thresholds), the merge map, the vocabulary size after
    merging, per-property test MAE / RMSE / n in original units, and ``overall_rmse``, the RMSE
    over every test measurement in model units (standardised, comparable across properties).
    ``per_threshold[t]`` summarises the folds: means, a t-interval of the mean, and the paired
    difference to ``t = 0`` (positive: merging raised the error) with the Nadeau-Bengio
    corrected interval, overall and per property.
    """

    thresholds: tuple[int, ...]
    strategy: str
    records: list[dict]
    per_threshold: dict[int, dict]
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "thresholds": list(self.thresholds),
            "strategy": self.strategy,
            "records": [dict(r) for r in self.records],
            "per_threshold": {str(t): v for t, v in self.per_threshold.items()},
            "settings": dict(self.settings),
            "units": "per-property errors in original units; overall_rmse in model units",
        }


def merge_ingredients(dataset: Dataset, mapping: dict[str, str]) -> Dataset:
    """``dataset`` with ingredient codes renamed by ``mapping`` in every recipe.

    Amounts of codes that become the same within one recipe are summed; recipes and their
    ingredients keep their order of first appearance. Measurements and the optional tables are
    kept as they are.
    """
    if not mapping:
        return dataset
    f = dataset.formulations
    renamed = f.assign(ingredient=f["ingredient"].map(lambda c: mapping.get(c, c)))
    table = renamed.groupby(["formulation_id", "ingredient"], sort=False, as_index=False)[
        "amount"].sum()
    order = pd.factorize(table["formulation_id"])[0].argsort(kind="stable")
    return replace(dataset, formulations=table.iloc[order].reset_index(drop=True))


def merge_map(
    codes: Sequence[str],
    counts: dict[str, int],
    threshold: int,
    *,
    strategy: str = "nearest",
    vectors: dict[str, np.ndarray] | None = None,
    groups: dict[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Which rare ingredient merges into which frequent one, and the rare ones left alone.

    ``counts`` are training-recipe frequencies (missing: 0); rare means ``counts < threshold``.
    ``vectors`` (code -> vector) are needed for ``nearest``, ``groups`` for ``group``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    rare = sorted(c for c in codes if counts.get(c, 0) < threshold)
    frequent = sorted(c for c in codes if counts.get(c, 0) >= threshold)
    if not rare or not frequent:
        return {}, rare
    mapping: dict[str, str] = {}
    if strategy == "nearest":
        if vectors is None:
            raise ValueError("strategy 'nearest' needs ingredient vectors")
        targets = np.stack([vectors[c] for c in frequent])  # (F, dim)
        for c in rare:
            mapping[c] = frequent[int(np.argmin(np.linalg.norm(targets - vectors[c], axis=1)))]
        return mapping, []
    groups = groups or {}
    for c in rare:
        members = [m for m in frequent if c in groups and groups.get(m) == groups[c]]
        if members:
            mapping[c] = min(members, key=lambda m: (-counts.get(m, 0), m))
    return mapping, [c for c in rare if c not in mapping]


def reduce_ingredients(
    dataset: Dataset,
    *,
    thresholds: Sequence[int] = (0, 1, 2),
    strategy: str = "nearest",
    folds: int = 5,
    seed: int = 0,
    train_config: TrainConfig | None = None,
    reference_model: TrainedModel | None = None,
    mixer_options: dict | None = None,
    confidence: float = 0.95,
    progress: bool = False,
) -> ReductionResult:
    """Retrain with rare ingredients merged at each threshold and compare k-fold test errors.

    Folds are by formulation (``kfold_splits(..., seed=seed)``) and shared by all thresholds;
    ``t = 0`` (no merging) is always included. Models train with ``train_config`` (default
    ``TrainConfig(seed=seed)``) and ``mixer_options``; so does the reference model when
    ``strategy="nearest"`` and none is given. A threshold that merges nothing in a fold reuses
    the ``t = 0`` model of that fold (same data, split and seed).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if any(int(t) != t or t < 0 for t in thresholds):
        raise ValueError(f"thresholds must be non-negative integers, got {list(thresholds)}")
    levels = tuple(sorted({0, *(int(t) for t in thresholds)}))
    config = train_config or TrainConfig(seed=seed)
    ids = measured_formulations(dataset)
    splits = kfold_splits(ids, k=folds, seed=seed)
    vectors, groups = _merge_inputs(dataset, strategy, reference_model, config, mixer_options,
                                    ids, seed, progress)
    recipes = dataset.recipes()
    records: list[dict] = []
    bar = tqdm(total=len(splits) * len(levels), desc="reduction", unit="fit",
               disable=not progress, leave=False)
    for fold, split in enumerate(splits):
        counts = Counter(c for f in split.train for c in set(recipes[f][0]))
        digest = hashlib.sha256("\n".join(split.test).encode()).hexdigest()[:16]
        baseline: dict | None = None
        for t in levels:
            mapping, unmerged = merge_map(dataset.ingredient_names, counts, t, strategy=strategy,
                                          vectors=vectors, groups=groups)
            if baseline is not None and not mapping:
                record = {**baseline, "reused_baseline": True}
            else:
                merged = merge_ingredients(dataset, mapping)
                model = fit_model(merged, mixer_options=mixer_options, train_config=config,
                                  split=split, progress=False)
                record = _score(model, merged, split)
                record["reused_baseline"] = False
            record.update(fold=fold, threshold=t, split=split.method, test_digest=digest,
                          merges=dict(sorted(mapping.items())),
                          n_merged=len(mapping), unmerged_rare=unmerged,
                          n_rare=len(mapping) + len(unmerged))
            baseline = baseline or record
            records.append(record)
            bar.update()
    bar.close()
    correction = float(np.mean([len(s.test) / len(s.train) for s in splits]))
    return ReductionResult(
        thresholds=levels,
        strategy=strategy,
        records=records,
        per_threshold={t: _summarise(records, t, correction, confidence) for t in levels},
        settings={"folds": folds, "seed": seed, "train_config": config.to_dict(),
                  "mixer_options": dict(mixer_options or {}), "confidence": confidence,
                  "reference_model": "given" if reference_model is not None
                  else ("trained on all formulations" if strategy == "nearest" else None),
                  "nadeau_bengio_ratio": correction},
    )


def _merge_inputs(
    dataset: Dataset, strategy: str, reference: TrainedModel | None, config: TrainConfig,
    mixer_options: dict | None, ids: list[str], seed: int, progress: bool,
) -> tuple[dict[str, np.ndarray] | None, dict[str, str] | None]:
    """Reference vectors for ``nearest`` (training the reference model if needed), or the
    expert groups for ``group``."""
    if strategy == "group":
        groups = dataset.ingredient_groups()
        if not groups:
            raise ValueError("strategy 'group' needs expert groups (ingredients.csv)")
        return None, groups
    if reference is None:
        everything = random_split(ids, seed=seed, validation=0.1, test=0.0)
        reference = fit_model(dataset, mixer_options=mixer_options, train_config=config,
                              split=everything, progress=progress)
    missing = sorted(set(dataset.ingredient_names) - set(reference.encoder.ingredients))
    if missing:
        raise ValueError(f"the reference model has no vector for {len(missing)} ingredients of "
                         f"the dataset, e.g. {missing[:5]}")
    table = reference.mixer.ingredient_table().detach().numpy().astype(np.float64)
    return {c: table[reference.encoder.ingredient_id(c) - 1]
            for c in dataset.ingredient_names}, None


def _score(model: TrainedModel, dataset: Dataset, split: Split) -> dict:
    """Per-property test metrics (original units) and the pooled test RMSE in model units."""
    m = dataset.measurements
    rows = m[m["formulation_id"].isin(set(split.test))]
    recipes = dataset.recipes()
    props = rows["property"].tolist()
    z = model.predict([recipes[f] for f in rows["formulation_id"]], props, standardised=True)
    target = model.encoder.to_standard(props, rows["value"].to_numpy(np.float64))
    return {
        "n_ingredients": len(dataset.ingredient_names),
        "n_test": len(rows),
        "overall_rmse": float(np.sqrt(np.mean((z - target) ** 2))) if len(rows) else np.nan,
        "properties": {p: {k: v["test"][k] for k in ("n", "mae", "rmse")}
                       for p, v in model.metrics["properties"].items()},
    }


def _summarise(records: list[dict], t: int, correction: float, confidence: float) -> dict:
    """Means over folds at threshold ``t`` and paired differences to ``t = 0``."""
    mine = sorted((r for r in records if r["threshold"] == t), key=lambda r: r["fold"])
    base = sorted((r for r in records if r["threshold"] == 0), key=lambda r: r["fold"])
    overall = np.array([r["overall_rmse"] for r in mine])
    overall_base = np.array([r["overall_rmse"] for r in base])
    summary = {
        "n_ingredients": float(np.mean([r["n_ingredients"] for r in mine])),
        "n_merged": float(np.mean([r["n_merged"] for r in mine])),
        "overall_rmse": t_interval(overall, confidence=confidence).to_dict(),
        "overall_difference": _difference(overall, overall_base, correction, confidence),
        "properties": {},
    }
    for prop in sorted(mine[0]["properties"]) if mine else []:
        per_metric = {}
        for metric in ("mae", "rmse"):
            values = np.array([r["properties"][prop][metric] for r in mine], dtype=np.float64)
            reference = np.array([r["properties"][prop][metric] for r in base], dtype=np.float64)
            per_metric[metric] = float(np.nanmean(values)) if np.isfinite(values).any() else None
            per_metric[f"{metric}_difference"] = _difference(values, reference, correction,
                                                             confidence)
        summary["properties"][prop] = per_metric
    return summary


def _difference(values: np.ndarray, reference: np.ndarray, correction: float,
                confidence: float) -> dict:
    d = values - reference
    interval = t_interval(d, confidence=confidence, correction=correction)
    return {**interval.to_dict(), "p_value": t_test_pvalue(d, correction=correction)}
