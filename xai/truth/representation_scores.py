"""How well the learned representations recover what ``truth.json`` knows.

On synthetic data the true ingredient families, property groups and ingredient effects are
known. :func:`truth_scores` scores the embedding clusters against the families and groups;
:func:`substitution_truth` asks whether the swaps that move predictions most are the ones between
ingredients whose true effects differ most. (What each hypothesis should conclude is in
:mod:`xai.truth.hypotheses`.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score

from models.data import Dataset
from models.trained import TrainedModel
from xai.representation.embeddings import Geometry, cut_tree
from xai.representation.substitution import IngredientSubstitution


def truth_scores(truth: dict, ingredients: Geometry, properties: Geometry) -> dict:
    """How well the embeddings recover ``truth.json``'s families and property groups.

    The adjusted Rand index of the flat clustering (k chosen by silhouette) against the true
    labels, over all ingredients the truth knows and over the frequent (not rare) ones, and of a
    cut into as many clusters as there are true labels (k given, not chosen).
    """
    return {
        "family_recovery": _recovery(ingredients, truth.get("families", {})),
        "property_group_recovery": _recovery(properties, truth.get("property_groups", {})),
    }


def _recovery(g: Geometry, labels: dict[str, str]) -> dict:
    rows = np.array([i for i, n in enumerate(g.names) if n in labels], dtype=np.int64)
    if len(rows) < 2:
        return {"n": int(len(rows)), "ari": None}
    truth = np.array([labels[g.names[i]] for i in rows])
    frequent = ~g.rare[rows]
    n_true = len(set(truth.tolist()))
    at_true_k = cut_tree(g.hierarchy, n_true)[rows]
    return {
        "n": int(len(rows)),
        "n_frequent": int(frequent.sum()),
        "k": g.clusters.k,
        "n_true": n_true,
        "ari": float(adjusted_rand_score(truth, g.clusters.labels[rows])),
        "ari_frequent": float(adjusted_rand_score(truth[frequent],
                                                  g.clusters.labels[rows][frequent]))
        if frequent.sum() >= 2 else None,
        "ari_at_true_k": float(adjusted_rand_score(truth, at_true_k)),
    }


def substitution_truth(
    truth: dict, result: IngredientSubstitution, model: TrainedModel, dataset: Dataset,
    formulation_ids: Sequence[str],
) -> dict:
    """Do the swaps that change predictions most swap ingredients whose true effects differ most?

    The expected size of swap A -> B on property p is ``|effect_p(B) - effect_p(A)| x mean
    amount of A`` over the analysed recipes holding A, from ``truth["main_effects"]``, divided by
    the model's standard deviation for p so it is in model units. Reported: its Spearman
    correlation with the observed mean |prediction change| over the informed swaps, and per donor
    kind the mean expected size (random donors included), which says whether nearest-neighbour
    and expert donors are truly more alike than random ones.
    """
    effects = truth.get("main_effects", {})
    recipes = dataset.recipes()
    amounts: dict[str, list[float]] = {}
    for f in formulation_ids:
        for code, amount in zip(*recipes[f], strict=True):
            amounts.setdefault(code, []).append(float(amount))
    mean_amount = {c: float(np.mean(v)) for c, v in amounts.items()}

    def expected(a: str, b: str, prop: str) -> float:
        e = effects.get(prop, {})
        if a not in e or b not in e or a not in mean_amount:
            return float("nan")
        return abs(e[b] - e[a]) * mean_amount[a] / model.encoder.scalers[prop].std

    pairs, by_kind = [], {}
    for s in result.swaps:
        if s.donor_kind == "random":
            size = np.nanmean([expected(s.ingredient, b, s.property)
                               for b in result.random_donors.get(s.ingredient, [])] or [np.nan])
        else:
            size = expected(s.ingredient, s.donor, s.property)
            pairs.append((size, s.mean_abs_change))
        by_kind.setdefault(s.donor_kind, []).append(size)
    x, y = (np.array(v, dtype=np.float64) for v in zip(*pairs, strict=True)) if pairs else (
        np.zeros(0), np.zeros(0))
    ok = np.isfinite(x) & np.isfinite(y)
    rho = spearmanr(x[ok], y[ok]) if ok.sum() >= 3 else None
    return {
        "question": "do swaps between ingredients with more different true effects change "
                    "predictions more?",
        "n_swaps": int(ok.sum()),
        "spearman": None if rho is None else float(rho.statistic),
        "p_value": None if rho is None else float(rho.pvalue),
        "mean_expected_change_by_kind": {k: float(np.nanmean(v)) if np.isfinite(v).any()
                                         else None for k, v in by_kind.items()},
        "units": "expected and observed changes in model units",
    }
