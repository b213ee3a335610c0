"""The attribution and attention part of the audit: which (formulation, property) pairs are
explained, their Integrated Gradients and Shapley values, the checks each set carries, global
views, interactions, how stable the attributions are across ensemble members and where the two
methods disagree in sign, attention samples and the per-formulation review cases.

Every attribution here is in the property's standardised model units (after the log transform
where one applies); predictions shown beside them are converted back to original units.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from models.data import Dataset
from models.fingerprint import Scope
from models.modes import evaluation
from models.trained import TrainedModel
from xai.absence import Absence
from xai.attention.maps import AttentionSummary, attention_maps
from xai.attribution.interactions import Interactions
from xai.attribution.results import Attribution
from xai.attribution.shapley import shapley_interactions
from xai.cases import Cases, case_pairs, encode_pairs
from xai.checks.stability import (
    NEGLIGIBLE_SHARE,
    member_stability,
    opposite_signs,
    sign_disagreement,
)
from xai.runs.explain import method_runners
from xai.runs.settings import METHODS, N_DEPENDENCE, TOP_K, ExplainSettings

FLAG_SHARE = NEGLIGIBLE_SHARE  # a sign disagreement matters when either value is >= this share
# of the largest |attribution| of the case
MIN_DEPENDENCE_POINTS = 5


@dataclass(frozen=True)
class Selection:
    """The explained cases: review formulations first (all their measured properties), then a
    seeded random sample of other test pairs, up to ``max_cases`` in all."""

    cases: Cases
    review_ids: tuple[str, ...]
    review_rows: np.ndarray
    n_candidates: int
    pool: str


def select_cases(
    model: TrainedModel,
    dataset: Dataset,
    *,
    max_cases: int,
    review_formulations: int,
    seed: int,
    scope: Scope | None = None,
    absence: Absence | None = None,
) -> Selection:
    """Pick the cases to explain from ``scope`` (see :func:`models.fingerprint.analysis_scope`)
    or, without one, from the model's test split (every measured formulation when the model has
    no split); the balance ingredient is the one ``absence`` names, else the data's."""
    measured = set(dataset.measurements["formulation_id"])
    if scope is not None:
        pool, ids = scope.pool, [f for f in scope.formulation_ids if f in measured]
    elif model.split is not None and model.split.test:
        pool, ids = "test split", [f for f in model.split.test if f in measured]
    else:
        pool, ids = "all measured formulations", [f for f in dataset.formulation_ids
                                                   if f in measured]
    # every candidate pair is listed, only the chosen ones encoded
    pairs = case_pairs(model, dataset, ids)
    formulations = pairs["formulation_id"].to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    unique = list(dict.fromkeys(formulations))
    n_review = min(review_formulations, len(unique))
    chosen = sorted(rng.choice(len(unique), size=n_review, replace=False).tolist())
    review_ids = tuple(unique[i] for i in chosen)
    in_review = np.isin(formulations, review_ids)
    review = np.flatnonzero(in_review)[:max_cases]
    others = np.flatnonzero(~in_review)
    room = max(max_cases - len(review), 0)
    extra = np.sort(rng.choice(others, size=min(room, len(others)), replace=False))
    rows = np.concatenate([review, extra]).astype(np.int64)
    cases = encode_pairs(model, dataset, pairs.iloc[rows], absence=absence)
    kept = set(cases.formulation_ids[: len(review)])
    return Selection(
        cases=cases,
        review_ids=tuple(f for f in review_ids if f in kept),
        review_rows=np.arange(len(review)),
        n_candidates=len(pairs),
        pool=pool,
    )


def explain_summary(result, cases: Cases) -> dict:
    """The JSON part of an explain result, with the per-case agreement the report plots, and
    the dependence points cut to the leading ingredients of the most explained properties."""
    out = result.to_dict()
    out.pop("attention", None)  # reported in the attention section
    if result.agreement is not None:
        out["quality"]["agreement"]["per_case"] = {
            "spearman": result.agreement.spearman.tolist(),
            "top_k": result.agreement.top_k.tolist()}
    counts = Counter(cases.properties)
    props = set(sorted(counts, key=lambda p: (-counts[p], p))[:N_DEPENDENCE])
    out["dependence"] = {m: [d for d in points if d["property"] in props
                             and len(d["amounts"]) >= MIN_DEPENDENCE_POINTS]
                         for m, points in out["dependence"].items()}
    return out


def review_interactions(model: TrainedModel, cases: Cases, *, absence: Absence, max_players: int,
                        top: int = 5) -> list[list[dict]]:
    """Each review case's ``top`` pairwise Shapley interactions (exact enumeration; empty for
    recipes with more than ``max_players`` players). ``value`` is the whole pair's interaction
    (the Shapley interaction index) in model units."""
    if len(cases) == 0:
        return []
    inter = shapley_interactions(model.mixer, cases, absence=absence, max_players=max_players)
    return [[{"a": a, "b": b, "value": 2 * v} for a, b, v in inter.top_pairs(i, top)]
            for i in range(len(cases))]


def strongest_pairs(interactions: Interactions | None, *, per_case: int = 5,
                    top: int = 15) -> list[dict]:
    """Pairs pooled over cases from each case's ``per_case`` strongest pairs: per (property,
    pair) the mean whole-pair interaction (model units) and the number of cases."""
    if interactions is None:
        return []
    pooled: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for i in np.flatnonzero(np.isfinite(interactions.prediction)):
        for a, b, v in interactions.top_pairs(int(i), per_case):
            a, b = sorted((a, b))
            pooled[(interactions.properties[i], a, b)].append(2 * v)
    out = [{"property": p, "a": a, "b": b, "mean": float(np.mean(v)), "n": len(v)}
           for (p, a, b), v in pooled.items()]
    out.sort(key=lambda e: (-abs(e["mean"]), e["property"], e["a"], e["b"]))
    return out[:top]


def method_signs(attributions: dict[str, Attribution]) -> dict:
    """Per (property, ingredient), how often Integrated Gradients and Shapley values have
    opposite signs (see :func:`xai.checks.stability.sign_disagreement`); unavailable unless
    both methods ran."""
    if not all(m in attributions for m in METHODS):
        return {"available": False, "reason": "needs both Integrated Gradients and Shapley "
                                              "values"}
    return sign_disagreement(attributions["ig"], attributions["shapley"],
                             names=("ig", "shapley")).to_dict()


def stability_section(model: TrainedModel, cases: Cases, config: ExplainSettings) -> dict:
    """Each ensemble member's Integrated Gradients and Shapley values for ``cases`` with the
    primary model's settings ``config`` (its absence resolved; Shapley values enumerated where
    the primary's are and sampled with the same seed for every member), and per method how far
    the members agree (:func:`xai.checks.stability.member_stability`). Unavailable without an
    ensemble of at least two members."""
    ensemble = getattr(model, "ensemble", None)
    if ensemble is None or len(ensemble) < 2:
        return {"available": False,
                "reason": "the model is not a cross-fitted ensemble (train with --ensemble K, "
                          "K >= 2, or on a small dataset), so there are no members to compare"}
    runners = method_runners(config)
    out: dict = {"n_members": len(ensemble), "n_cases": len(cases),
                 "absence": str(config.absence), "methods": {}}
    for name in (m for m in METHODS if m in runners):
        members = []
        for mixer in ensemble.mixers:
            with evaluation(mixer):
                members.append(runners[name](mixer, cases, False))
        out["methods"][name] = member_stability(members).to_dict()
    return out


def attention_section(model: TrainedModel, cases: Cases, summary: AttentionSummary,
                      review_rows: np.ndarray, *, n_samples: int, max_tokens: int = 20) -> dict:
    """The attention-share summary over all explained cases, and per-layer maps (heads averaged)
    with the rollout for a few short review recipes."""
    seen, picks = set(), []
    for r in list(review_rows) + list(range(len(cases))):
        f = cases.formulation_ids[r]
        if f not in seen and len(cases.ingredients[r]) + 1 <= max_tokens:
            seen.add(f)
            picks.append(int(r))
        if len(picks) == n_samples:
            break
    samples = []
    if picks:
        maps = attention_maps(model.mixer, cases.select(picks))
        rollout = maps.rollout()
        for i in range(len(maps)):
            s = len(maps.tokens[i])
            samples.append({
                "formulation_id": maps.formulation_ids[i], "property": maps.properties[i],
                "tokens": list(maps.tokens[i]),
                "layers": [maps.case(i)[layer].mean(0).tolist()
                           for layer in range(maps.weights.shape[1])],
                "rollout": rollout[i, :s, :s].tolist(),
            })
    return {"summary": summary.to_dict(), "rollout_share_per_case": summary.rollout_share.tolist(),
            "samples": samples}


def review_cases(model: TrainedModel, cases: Cases, rows: np.ndarray, ig: Attribution,
                 shap: Attribution, interactions: list[list[dict]],
                 groups: dict[str, str]) -> list[dict]:
    """One entry per review formulation: its recipe and, per explained property, measured and
    predicted values, the prediction interval and applicability flags (as ``xai predict``
    gives them) and both attributions per ingredient with disagreement flags."""
    by_formulation: dict[str, list[int]] = defaultdict(list)
    for position, r in enumerate(rows):
        by_formulation[cases.formulation_ids[r]].append(position)
    props = [cases.properties[r] for r in rows]
    predicted = model.encoder.from_standard(props, shap.prediction[rows])
    trust = _trust(model, cases, rows)
    out = []
    for fid, positions in by_formulation.items():
        first = rows[positions[0]]
        names, amounts = cases.ingredients[first], cases.raw_amounts[first]
        entry = {
            "formulation_id": fid,
            "recipe": [{"ingredient": n, "group": groups.get(n, ""), "amount": float(a)}
                       for n, a in zip(names, amounts, strict=True)],
            "balance_ingredient": cases.balance_ingredient,
            "properties": [],
        }
        for position in positions:
            r = rows[position]
            entry["properties"].append(_review_property(
                cases, r, ig, shap, float(predicted[position]), interactions[position], groups)
                | trust[position])
        out.append(entry)
    return out


def _trust(model: TrainedModel, cases: Cases, rows: np.ndarray) -> list[dict]:
    """Per review row: the deployed prediction (an ensemble's members' mean), its conformal
    interval and the applicability flags, from :func:`models.calibration.predict_table`."""
    import pandas as pd

    from models.calibration import predict_table

    conformal = getattr(model, "conformal", None)
    recipes = {cases.formulation_ids[r]: (list(cases.ingredients[r]), cases.raw_amounts[r])
               for r in rows}
    table = predict_table(model, recipes, pd.DataFrame({
        "formulation_id": [cases.formulation_ids[r] for r in rows],
        "property": [cases.properties[r] for r in rows]}))
    out = []
    for i in range(len(rows)):
        row = table.iloc[i]
        interval = None
        if "lower" in table:
            interval = {"lower": _finite(row["lower"]), "upper": _finite(row["upper"]),
                        "coverage": conformal.coverage, "method": conformal.method,
                        "around": _finite(row["prediction"])}
        flags = row["flags"].split(";") if "flags" in table and row["flags"] else []
        out.append({"interval": interval, "applicability": flags,
                    "spread": _finite(row["spread"]) if "spread" in table else None})
    return out


def _review_property(cases: Cases, r: int, ig: Attribution, shap: Attribution,
                     predicted: float, interactions: list[dict], groups: dict[str, str]) -> dict:
    names = cases.ingredients[r]
    a, b = ig.row(r), shap.row(r)
    rank_a, rank_b = _ranks(a), _ranks(b)
    opposite = opposite_signs(a[None], b[None], share=FLAG_SHARE)[0]
    rows = []
    for j, name in enumerate(names):
        flags = []
        if np.isfinite(a[j]) and np.isfinite(b[j]):
            if opposite[j]:
                flags.append("opposite signs")
            top_a, top_b = rank_a[j] <= TOP_K, rank_b[j] <= TOP_K
            if top_a != top_b and abs(rank_a[j] - rank_b[j]) >= TOP_K:
                flags.append(f"top {TOP_K} for {'IG' if top_a else 'Shapley'} only")
        rows.append({
            "ingredient": name, "group": groups.get(name, ""),
            "amount": float(cases.raw_amounts[r][j]),
            "ig": _finite(a[j]), "shapley": _finite(b[j]),
            "shapley_se": None if shap.std_errors is None else _finite(shap.std_errors[r, j]),
            "ig_rank": int(rank_a[j]) if np.isfinite(a[j]) else None,
            "shapley_rank": int(rank_b[j]) if np.isfinite(b[j]) else None,
            "flags": flags,
        })
    return {
        "property": cases.properties[r],
        "measured": _finite(cases.measured[r]),
        "predicted": predicted,
        "prediction_model_units": float(shap.prediction[r]),
        "baseline_model_units": float(shap.baseline[r]),
        "ig_baseline_model_units": float(ig.baseline[r]),
        "shapley_exact": bool(shap.exact[r]),
        "ingredients": rows,
        "interactions": interactions,
    }


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank by |value| (1 = largest); NaN entries get a rank past the end."""
    key = np.where(np.isfinite(values), -np.abs(values), np.inf)
    order = np.argsort(key, kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(1, len(values) + 1)
    return np.where(np.isfinite(values), ranks, len(values) + 1)


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
