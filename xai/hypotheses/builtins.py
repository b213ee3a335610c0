"""The seven built-in representation hypotheses and the read-only registry that holds them.

Each reads what it needs from the analysis context
(:class:`xai.hypotheses.context.AnalysisContext`) and returns a
:class:`xai.hypotheses.registry.Verdict`; the statistical machinery (registry, corrections, the
monotonic and slope tests) is in :mod:`xai.hypotheses.registry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import combine_pvalues

from xai.hypotheses.registry import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Inconclusive,
    Registry,
    Verdict,
    monotonic_test,
    slope_test,
)
from xai.representation.expert_agreement import GroupAgreement
from xai.stats import mean_interval

if TYPE_CHECKING:
    from xai.hypotheses.context import AnalysisContext


def _group_closeness(agreement: GroupAgreement | None, what: str, alpha: float) -> Verdict:
    if agreement is None:
        raise Inconclusive(f"no expert groups for {what} (or fewer than two groups)")
    test = agreement.permanova
    verdict = SUPPORTED if test.p_value < alpha and test.ratio < 1 else NOT_SUPPORTED
    return Verdict(verdict, statistic=test.statistic, p_value=test.p_value,
                   effect_size=1.0 - test.ratio,
                   evidence={"statistic": "PERMANOVA pseudo-F (effect: 1 - within/between "
                                          "mean distance)", **agreement.to_dict()})


def _same_group_ingredients(context: AnalysisContext) -> Verdict:
    return _group_closeness(context.ingredient_agreement, "ingredients", context.settings.alpha)


def _same_group_properties(context: AnalysisContext) -> Verdict:
    return _group_closeness(context.property_agreement, "properties", context.settings.alpha)


def _expert_swaps(context: AnalysisContext) -> Verdict:
    result = context.ingredient_substitution
    comparisons = result.headline.get("versus_random", {})
    test = comparisons.get("expert")
    if test is None or not np.isfinite(test.get("p_value", np.nan)):
        raise Inconclusive("no expert swaps could be compared with random swaps")
    # the headline test is two-sided; the hypothesis is one-sided (expert below random)
    p_two, effect = float(test["p_value"]), float(test["effect_size"])
    p_value = p_two / 2 if effect < 0 else 1 - p_two / 2
    verdict = SUPPORTED if p_value < context.settings.alpha else NOT_SUPPORTED
    return Verdict(verdict, statistic=test.get("statistic"), p_value=p_value, effect_size=effect,
                   evidence={"statistic": "Wilcoxon signed-rank of mean |prediction change|, "
                                          "expert vs random donors, paired over ingredients "
                                          "(effect: rank-biserial, negative = expert disturbs "
                                          "less); model units",
                             "test": test, "kinds": result.headline.get("kinds", {}),
                             "other_informed": {k: v for k, v in comparisons.items()
                                                if k != "expert"}})


def _property_vectors(context: AnalysisContext) -> Verdict:
    result = context.property_substitution
    # one test per low-data property: its recommended donor (nearest high-data property of its
    # group), read with the low-data property's own scaler
    chosen = [r for r in result.results if r.recommended and r.scaler == "target"
              and np.isfinite(r.p_value) and r.own_mae > 0]
    if not chosen:
        raise Inconclusive("no low-data property has a high-data donor in its group with "
                           "test measurements")
    # the per-property sign-flip tests are two-sided; the hypothesis is one-sided (error falls)
    one_sided = [r.p_value / 2 if r.mae_change < 0 else 1 - r.p_value / 2 for r in chosen]
    combined = combine_pvalues(one_sided, method="fisher")
    relative = float(np.mean([r.mae_change / r.own_mae for r in chosen]))
    verdict = (SUPPORTED if combined.pvalue < context.settings.alpha and relative < 0
               else NOT_SUPPORTED)
    return Verdict(verdict, statistic=float(combined.statistic), p_value=float(combined.pvalue),
                   effect_size=relative,
                   evidence={"statistic": "Fisher's combination of one-sided sign-flip tests of "
                                          "the change in absolute test error, one per low-data "
                                          "property with its recommended donor (effect: mean "
                                          "relative change in MAE, negative = the donor helps)",
                             "properties": [{"property": r.property, "donor": r.donor,
                                             "train_count": r.train_count, "n": r.n_cases,
                                             "own_mae": r.own_mae, "mae_change": r.mae_change,
                                             "interval": [r.mae_change_low, r.mae_change_high],
                                             "p_one_sided": p}
                                            for r, p in zip(chosen, one_sided, strict=True)],
                             "low_data": dict(result.low_data)})


def _reads_recipe(context: AnalysisContext) -> Verdict:
    summary = context.attention
    share = np.asarray(summary.rollout_share, dtype=np.float64)
    if len(share) < 2:
        raise Inconclusive("fewer than two cases")
    ci = mean_interval(share, n_resamples=context.settings.n_bootstrap, seed=context.seed)
    t = summary.threshold
    verdict = SUPPORTED if ci.low > t else NOT_SUPPORTED if ci.high < t else INCONCLUSIVE
    return Verdict(verdict, statistic=ci.estimate, interval=(ci.low, ci.high),
                   effect_size=ci.estimate - t,
                   evidence={"statistic": "mean share of the property token's rolled-out "
                                          "attention on ingredient tokens", "threshold": t,
                             "flagged": summary.flagged, "n_cases": len(share),
                             "per_layer": summary.layer_share.mean(0).tolist()})


def _trend_monotonic(context: AnalysisContext) -> Verdict:
    trends = context.trends
    if not trends:
        raise Inconclusive("no property group has an ordered condition (properties.csv order)")
    s = context.settings
    v = monotonic_test([t["predictions"] for t in trends], required_share=s.monotonic_share,
                       alpha=s.alpha)
    for info, t in zip(v.evidence["series"], trends, strict=True):
        info.update(series=t["series"], properties=t["properties"], orders=t["orders"])
    return v


def _shear_thinning(context: AnalysisContext) -> Verdict:
    transforms = context.dataset.property_transforms()
    s = context.settings
    trends = [t for t in context.trends
              if all(transforms.get(p) == s.slope_transform for p in t["properties"])]
    if not trends:
        raise Inconclusive(f"no ordered series of {s.slope_transform}-transformed properties")
    v = slope_test([t["predictions"] for t in trends], [t["orders"] for t in trends],
                   band=s.slope_band, n_bootstrap=s.n_bootstrap, seed=context.seed)
    for info, t in zip(v.evidence["series"], trends, strict=True):
        info.update(series=t["series"], properties=t["properties"], orders=t["orders"])
    return v


def _builtin_registry() -> Registry:
    registry = Registry()
    for name, statement, fn in (
        ("same_group_ingredients_closer",
         "ingredients of the same expert group have closer vectors than chance",
         _same_group_ingredients),
        ("same_group_properties_closer",
         "properties of the same group have closer task vectors than chance",
         _same_group_properties),
        ("expert_swaps_preserve_predictions",
         "swapping an ingredient's vector for an expert substitute's changes predictions less "
         "than swapping it for a random ingredient's", _expert_swaps),
        ("property_vector_helps_low_data",
         "giving a low-data property the task vector of a similar high-data property lowers "
         "its test error", _property_vectors),
        ("property_token_reads_recipe",
         "the property token puts a real share of its rolled-out attention on the ingredients",
         _reads_recipe),
        ("trend_monotonic",
         "predictions are monotonic in an ordered measurement condition (e.g. rpm)",
         _trend_monotonic),
        ("shear_thinning_slope",
         "predicted viscosity falls about in half each time the rpm doubles (log-log slope "
         "near -1)", _shear_thinning),
    ):
        registry.register(name, statement)(fn)
    registry.frozen = True
    return registry


BUILTIN = _builtin_registry()
