"""Cross-validated comparison of the Mixer with the baselines, by formulation.

One number from one split says little: a different split, or a different initialisation, can
move a test RMSE by more than the gap between two models. :func:`cross_validate` trains the
Mixer and the baselines on each of several splits (k folds, optionally repeated with new
shuffles, or repeated random 70/10/20 splits), keeps every per-split value (the report draws
box plots from them) and compares the Mixer with the best baseline per property, paired over
the splits, with a confidence interval for the difference in test RMSE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from models.baselines import BASELINES
from models.choices import CV_METHODS
from models.data import Dataset
from models.experiments import (
    MIXER,
    Task,
    holdout_ratio,
    metric_table,
    paired_difference,
    relative_rmse,
    run_tasks,
    summarise,
)
from models.pipeline import measured_formulations
from models.splits import Split, kfold_splits, random_split
from models.structured_splits import STRUCTURED, structured_splits
from models.training import TrainConfig

METHODS = CV_METHODS
METRICS = ("rmse", "mae", "r2")
VERDICTS = {"a lower": "mixer better", "b lower": "baseline better"}


def cv_splits(
    formulation_ids: list[str], *, method: str = "kfold", folds: int = 5, seeds: int = 1,
    seed: int = 0,
) -> list[tuple[dict, Split]]:
    """``(labels, split)`` pairs: ``seeds`` repeats of a ``folds``-fold split (each repeat
    reshuffled with seed ``seed + r``), or ``seeds`` random 70/10/20 splits."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    out = []
    for r in range(seeds):
        if method == "kfold":
            for i, split in enumerate(kfold_splits(formulation_ids, k=folds, seed=seed + r)):
                out.append(({"repeat": r, "fold": i}, split))
        else:
            out.append(({"repeat": r}, random_split(formulation_ids, seed=seed + r)))
    return out


def cross_validate(
    dataset: Dataset,
    *,
    method: str = "kfold",
    folds: int = 5,
    seeds: int = 1,
    seed: int = 0,
    mixer_options: dict | None = None,
    train_config: TrainConfig | None = None,
    baselines: Sequence[str] = tuple(BASELINES),
    confidence: float = 0.95,
    jobs: int = 1,
    progress: bool = True,
) -> dict:
    """Train on every split of :func:`cv_splits` and compare models per property.

    Repeat ``r`` trains the Mixer with seed ``train_config.seed + r``, so the spread covers
    both the data split and the initialisation. All metrics are on the test part of each split,
    in original units.

    Returns
    -------
    dict (JSON-able) with ``records`` (one per split: its labels, split sizes and digests, and
    per-model per-property test metrics), ``properties[p]`` holding per-split ``rmse`` / ``mae``
    / ``r2`` lists per model, a ``summary`` per model and the ``comparison`` of the Mixer with
    the best baseline, and ``overall``: the same comparison on the mean relative RMSE (RMSE /
    mean-predictor RMSE, averaged over properties).
    """
    train_config = train_config or TrainConfig()
    ids = measured_formulations(dataset)
    if method in STRUCTURED:  # extrapolation: leave ingredients / a group out, or by size
        pairs = structured_splits(dataset, method, folds=folds, seed=seed)
    else:
        pairs = cv_splits(ids, method=method, folds=folds, seeds=seeds, seed=seed)
    tasks = [
        Task(split=split, mixer_options=dict(mixer_options or {}),
             train_config=replace(train_config, seed=train_config.seed + labels["repeat"]),
             baselines=tuple(baselines), labels=labels)
        for labels, split in pairs
    ]
    records = run_tasks(dataset, tasks, jobs=jobs, progress=progress, desc="cross-validation")
    counts = dataset.measurements["property"].value_counts().to_dict()
    return {
        "kind": "cv",
        "method": method,
        "folds": folds if method == "kfold" else None,
        "seeds": seeds,
        "seed": seed,
        "confidence": confidence,
        "units": "original units of each property; every metric on the test part of a split",
        "mixer_options": dict(mixer_options or {}),
        "train_config": train_config.to_dict(),
        "models": list(records[0]["models"]) if records else [],
        "records": records,
        "properties": compare_models(records, counts, confidence=confidence),
        "overall": _overall(records, confidence),
    }


def compare_models(records: list[dict], counts: dict[str, int], *, confidence: float) -> dict:
    """Per property: metric lists per model, summaries, and Mixer vs best baseline.

    The best baseline is the one with the lowest mean test RMSE over the splits; choosing it on
    the same splits favours the baseline, so a Mixer win is, if anything, understated.
    """
    ratio = holdout_ratio(records) if records else None
    tables = {metric: metric_table(records, metric) for metric in METRICS}
    out = {}
    for prop, rmse in tables["rmse"].items():
        entry = {
            "n_measurements": int(counts.get(prop, 0)),
            **{metric: tables[metric][prop] for metric in METRICS},
            "summary": {name: summarise(values) for name, values in rmse.items()},
            "comparison": None,
        }
        best = _best_baseline(rmse)
        if MIXER in rmse and best is not None:
            entry["comparison"] = _compare(rmse[MIXER], rmse[best], best, ratio, confidence)
        out[prop] = entry
    return out


def _overall(records: list[dict], confidence: float) -> dict:
    names = list(records[0]["models"]) if records else []
    scores = {name: [relative_rmse(r, name) for r in records] for name in names}
    best = _best_baseline(scores)
    comparison = None
    if MIXER in scores and best is not None:
        comparison = _compare(scores[MIXER], scores[best], best, holdout_ratio(records),
                              confidence)
    return {"metric": "relative_rmse", "relative_rmse": scores,
            "summary": {name: summarise(v) for name, v in scores.items()},
            "comparison": comparison}


def _best_baseline(values: dict[str, list[float]]) -> str | None:
    means = {name: np.nanmean(v) for name, v in values.items()
             if name != MIXER and np.isfinite(v).any()}
    return min(means, key=means.get) if means else None


def _compare(mixer: list[float], baseline: list[float], name: str, ratio: float | None,
             confidence: float) -> dict:
    diff = paired_difference(mixer, baseline, confidence=confidence, test_train_ratio=ratio)
    finite = np.isfinite(mixer) & np.isfinite(baseline)
    base_mean = float(np.mean(np.asarray(baseline)[finite])) if finite.any() else math.nan
    return {
        "baseline": name,
        "difference": "mixer - baseline (negative: the Mixer has the lower error)",
        "mixer_mean": float(np.mean(np.asarray(mixer)[finite])) if finite.any() else math.nan,
        "baseline_mean": base_mean,
        "relative_difference": diff["mean"] / base_mean if base_mean else math.nan,
        **diff,
        "verdict": VERDICTS.get(diff["verdict"], diff["verdict"]),
    }
