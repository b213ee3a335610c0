"""The headline of an ingredient-substitution run: how much each donor kind disturbs.

Per donor kind, the mean |prediction change| pooled over properties per ingredient; paired over
ingredients, each informed kind (expert, nearest, same group) against the random donors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xai.stats import finite_mean, wilcoxon_test

ALPHA = 0.05


def headline(per_ingredient: list[dict], swaps: Sequence, kinds: Sequence[str]) -> dict:
    """Per donor kind: how much swaps disturb; and, paired over ingredients, each informed kind
    against the mean random donor (Wilcoxon signed-rank on pooled mean |change|). ``swaps``
    are the run's :class:`~xai.representation.substitution.SwapResult` rows."""
    by_kind: dict[str, dict[str, list[float]]] = {}
    for r in per_ingredient:
        by_kind.setdefault(r["donor_kind"], {}).setdefault(r["ingredient"], []).append(
            r["mean_abs_change"])
    summary = {}
    for kind in kinds:
        values = np.array([np.mean(v) for v in by_kind.get(kind, {}).values()])
        rows = [r for r in per_ingredient if r["donor_kind"] == kind]
        p_values = np.array([s.p_value for s in swaps if s.donor_kind == kind])
        p_values = p_values[np.isfinite(p_values)]
        summary[kind] = {
            "n_ingredients": len(values),
            "n_swaps": len(rows),
            "mean_abs_change": finite_mean(values),
            "median_abs_change": float(np.median(values)) if len(values) else float("nan"),
            "mean_error_change": finite_mean(np.array([r["error_change"] for r in rows])),
            "share_swaps_p_below_alpha": finite_mean(p_values < ALPHA),
        }
    comparisons = {}
    random = {a: float(np.mean(v)) for a, v in by_kind.get("random", {}).items()}
    for kind in kinds:
        if kind == "random" or not random:
            continue
        mine = {a: float(np.mean(v)) for a, v in by_kind.get(kind, {}).items() if a in random}
        names = sorted(mine)
        test = wilcoxon_test(np.array([mine[a] for a in names]),
                             np.array([random[a] for a in names]))
        comparisons[kind] = {**test.to_dict(), "verdict": _verdict(test.p_value,
                                                                   test.effect_size)}
    return {
        "question": "do expert, nearest-neighbour and same-group swaps change predictions less "
                    "than random swaps?",
        "units": "mean |prediction change| and error change in model units, pooled over "
                 "properties per ingredient",
        "kinds": summary,
        "versus_random": comparisons,
    }


def _verdict(p_value: float, effect: float) -> str:
    if not np.isfinite(p_value):
        return "too few ingredients to test"
    if p_value >= ALPHA:
        return "no clear difference from random swaps"
    return "disturbs less than random swaps" if effect < 0 else "disturbs more than random swaps"
