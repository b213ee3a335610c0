"""The analysis behind ``xai explain``: attributions for many cases with every check they carry.

One call computes, for the chosen cases: the attention summary, Integrated Gradients and/or
Shapley values, completeness per method, agreement between methods, the model-randomisation
sanity check and deletion curves (both on a seeded sample of at most ``check_cases`` cases, since
they re-run the methods many times), global importance and dependence points, and, when the
dataset has a ground truth, the scores against it. Nothing here writes files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from models.mixer import Mixer
from models.modes import evaluation
from models.trained import TrainedModel
from xai.absence import Absence
from xai.attention.maps import AttentionSummary, attention_summary
from xai.attribution.integrated_gradients import integrated_gradients
from xai.attribution.results import Attribution
from xai.attribution.shapley import Interactions, shapley_interactions, shapley_values
from xai.cases import Cases, auto_absence
from xai.checks.deletion import DeletionCurves, deletion_curves
from xai.checks.global_views import GlobalImportance, dependence_points, global_importance
from xai.checks.quality import (
    Agreement,
    Completeness,
    SanityCheck,
    agreement,
    completeness,
    randomisation_check,
)
from xai.runs.settings import METHODS, ExplainSettings
from xai.truth.attribution_scores import TruthScores, truth_scores


@dataclass(frozen=True)
class ExplainResult:
    """Everything one explain run found; ``to_dict`` is what ``explain.json`` holds and
    ``frame`` what ``attributions.csv`` holds."""

    attributions: dict[str, Attribution]
    attention: AttentionSummary
    completeness: dict[str, Completeness]
    agreement: Agreement | None
    sanity: dict[str, SanityCheck]
    deletion: dict[str, DeletionCurves]
    importance: dict[str, GlobalImportance]
    dependence: dict[str, list]
    truth: TruthScores | None
    interactions: Interactions | None
    settings: dict = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Long format, one row per case x ingredient x method (see ``Attribution.to_frame``)."""
        return pd.concat([a.to_frame() for a in self.attributions.values()], ignore_index=True)

    def to_dict(self) -> dict:
        return {
            "settings": self.settings,
            "attention": self.attention.to_dict(),
            "attributions": {m: _describe(a) for m, a in self.attributions.items()},
            "quality": {
                "completeness": {m: c.to_dict() for m, c in self.completeness.items()},
                "agreement": self.agreement.to_dict() if self.agreement is not None else None,
                "sanity_check": {m: s.to_dict() for m, s in self.sanity.items()},
                "deletion": {m: d.to_dict() for m, d in self.deletion.items()},
            },
            "global": {m: g.to_dict() for m, g in self.importance.items()},
            "dependence": {m: [p.to_dict() for p in points]
                           for m, points in self.dependence.items()},
            "interactions": _interaction_summary(self.interactions, self.settings),
            "truth": self.truth.to_dict() if self.truth is not None else None,
        }


def explain(
    model: TrainedModel,
    cases: Cases,
    config: ExplainSettings,
    *,
    truth: dict | None = None,
    attribute: Attributor | None = None,
) -> ExplainResult:
    """Run every analysis of ``config`` on ``cases``; ``truth`` (a parsed ``truth.json``)
    enables the ground-truth scores. ``config.absence`` None ("auto") is resolved here from
    the cases (:func:`xai.cases.auto_absence`). The model runs in eval mode; its mode is
    restored afterwards. ``attribute(name, cases, config)``, when given, computes a method's
    attributions over all cases elsewhere (``xai.runs.distributed``) or returns None to have
    them computed here; the checks always run here."""
    if config.absence is None:
        config = replace(config, absence=auto_absence(cases))
    with evaluation(model.mixer):
        return _explain(model, cases, config, truth, attribute)


def _explain(model: TrainedModel, cases: Cases, config: ExplainSettings,
             truth: dict | None, attribute: Attributor | None = None) -> ExplainResult:
    mixer = model.mixer
    rng = np.random.default_rng(config.seed)
    progress = config.progress
    attention = attention_summary(mixer, cases, threshold=config.attention_threshold,
                                  progress=progress)
    methods = method_runners(config)
    attributions = {}
    for name, run in methods.items():
        elsewhere = attribute(name, cases, config) if attribute is not None else None
        attributions[name] = elsewhere if elsewhere is not None else run(mixer, cases, progress)
    check_rows = _sample(len(cases), config.check_cases, rng)
    check_cases = cases.select(check_rows)
    check_methods = method_runners(config, for_checks=True)
    sanity, deletion = {}, {}
    for name, attribution in attributions.items():
        sample = attribution[check_rows]
        run = check_methods[name]
        original = sample if _checks_reuse(config, name) else run(mixer, check_cases, False)
        sanity[name] = randomisation_check(mixer, check_cases, lambda m, c, r=run: r(m, c, False),
                                           seed=config.seed, original=original)
        deletion[name] = deletion_curves(mixer, check_cases, sample, n_random=config.n_random,
                                         seed=config.seed)
    importance = {m: global_importance(a) for m, a in attributions.items()}
    dependence = {m: dependence_points(a, top=config.dependence_top, importance=importance[m])
                  for m, a in attributions.items()}
    interactions, truth_result = None, None
    if "shapley" in attributions:
        interactions = _interactions(mixer, cases, config, rng)
    if truth:
        truth_result = truth_scores(
            model, cases, truth, list(attributions.values()),
            interactions=interactions, max_players=config.truth_max_players,
            top_k=config.top_k,
        )
    both = [attributions[m] for m in METHODS if m in attributions]
    settings = {
        **config.to_dict(),
        "n_cases": len(cases),
        "n_formulations": len(set(cases.formulation_ids)),
        "properties": sorted(set(cases.properties)),
        "balance_ingredient": cases.balance_ingredient,
        "check_sample": len(check_rows),
        "units": "attributions and predictions in each property's standardised model units",
        "notes": [
            f"the sanity check and deletion curves use a seeded sample of {len(check_rows)} of "
            f"{len(cases)} cases",
            f"on the randomised models of the sanity check, Integrated Gradients stops at "
            f"{min(config.check_ig_max_steps, config.ig_max_steps)} steps",
        ] + ([f"in the sanity check Shapley values are enumerated up to {config.check_exact_max} "
              f"players and sampled with {config.check_permutations} permutations beyond"]
             if "shapley" in attributions else []),
    }
    return ExplainResult(
        attributions=attributions,
        attention=attention,
        completeness={m: completeness(a, tolerance=config.ig_tolerance)
                      for m, a in attributions.items()},
        agreement=agreement(*both, k=config.top_k) if len(both) == 2 else None,
        sanity=sanity,
        deletion=deletion,
        importance=importance,
        dependence=dependence,
        truth=truth_result,
        interactions=interactions,
        settings=settings,
    )


Runner = Callable[[Mixer, Cases, bool], Attribution]
Attributor = Callable[[str, Cases, ExplainSettings], "Attribution | None"]


def method_runners(config: ExplainSettings, *, for_checks: bool = False) -> dict[str, Runner]:
    """name -> run(mixer, cases, progress) with ``config``'s settings (its absence resolved);
    Shapley values are sampled from ``config.seed`` and the case whatever the mixer, so two
    mixers see the same permutations. The checks' variants are cheaper (they run once per
    randomisation stage)."""
    absence = config.absence
    max_steps = min(config.check_ig_max_steps, config.ig_max_steps) if for_checks else (
        config.ig_max_steps)
    exact_max = config.check_exact_max if for_checks else config.shapley_exact_max
    permutations = config.check_permutations if for_checks else config.shapley_permutations
    target_se = None if for_checks else config.shapley_target_se

    def ig(mixer: Mixer, cases: Cases, progress: bool) -> Attribution:
        return integrated_gradients(mixer, cases, absence=absence, tolerance=config.ig_tolerance,
                                    max_steps=max_steps, progress=progress)

    def shapley(mixer: Mixer, cases: Cases, progress: bool) -> Attribution:
        return shapley_values(mixer, cases, absence=absence, exact_max=exact_max,
                              n_permutations=permutations, sampler=config.shapley_sampler,
                              target_std_error=target_se, seed=config.seed, progress=progress)

    def reference(name: str) -> Runner:
        def run(mixer: Mixer, cases: Cases, progress: bool) -> Attribution:
            return _reference(name, mixer, cases, absence, config)
        return run

    runners = {"ig": ig, "shapley": shapley}
    return {name: runners[name] if name in runners else reference(name)
            for name in config.methods}


def _reference(name: str, mixer: Mixer, cases: Cases, absence: Absence,
               config: ExplainSettings) -> Attribution:
    """A reference implementation as an attribution method: shap's exact or permutation
    explainer (one explainer per case), or captum's Integrated Gradients with
    ``config.ig_max_steps`` Riemann-trapezoid steps on the same path as ours."""
    from xai.checks.reference import captum_reference, shap_reference

    if name == "captum-ig":
        return captum_reference(mixer, cases, absence=absence, n_steps=config.ig_max_steps)
    explainer = name.removeprefix("shap-")
    return shap_reference(mixer, cases, explainer=explainer, absence=absence, seed=config.seed)


def _checks_reuse(config: ExplainSettings, name: str) -> bool:
    """Whether the main attributions can serve as the sanity check's original: always for IG
    (a lower step cap only matters on the randomised models) and the reference methods (their
    checks run with the same settings), for Shapley when the check runs with the same
    settings."""
    return name != "shapley" or (config.check_exact_max >= config.shapley_exact_max
                            and config.check_permutations == config.shapley_permutations
                            and config.shapley_target_se is None)


def _interactions(mixer: Mixer, cases: Cases, config: ExplainSettings,
                  rng: np.random.Generator) -> Interactions:
    """Pairwise interactions on a seeded sample of the cases small enough to enumerate."""
    n_players = cases.mask.sum(1).numpy() - (
        (cases.balance_slot >= 0).numpy() if config.absence.kind == "balance" else 0)
    small = np.flatnonzero((n_players >= 2) & (n_players <= config.interaction_max_players))
    rows = np.sort(small[_sample(len(small), config.interaction_cases, rng)])
    return shapley_interactions(mixer, cases.select(rows), absence=config.absence,
                                max_players=config.interaction_max_players)


def _sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


def _describe(attribution: Attribution) -> dict:
    """An attribution set's parameters as they are, with its per-case diagnostics summarised:
    a share and count for flags, the range (and the count of each value for integers, the
    largest magnitude for IG's ``delta``) for numbers."""
    out: dict = {"method": attribution.method, "absence": str(attribution.absence),
                 "n_cases": len(attribution), **attribution.settings}
    for key, value in attribution.diagnostics().items():
        if value.dtype == bool:
            out[key] = {"share": float(value.mean()) if value.size else float("nan"),
                        "count": int(value.sum())}
            continue
        finite = value[np.isfinite(value)]
        out[key] = ({"min": float(finite.min()), "max": float(finite.max()),
                     "mean": float(finite.mean())} if finite.size else None)
        if out[key] is not None and value.dtype.kind == "i":
            steps, counts = np.unique(value, return_counts=True)
            out[key]["counts"] = {str(s): int(c) for s, c in zip(steps, counts, strict=True)}
        elif out[key] is not None and key == "delta":
            out[key]["max_abs"] = float(np.abs(finite).max())
    return out


def _interaction_summary(interactions: Interactions | None, settings: dict) -> dict | None:
    if interactions is None:
        return None
    enumerated = np.isfinite(interactions.prediction)
    top = [{"formulation_id": interactions.formulation_ids[i],
            "property": interactions.properties[i],
            "pairs": [list(p) for p in interactions.top_pairs(int(i), settings["top_k"])]}
           for i in np.flatnonzero(enumerated)]
    return {"n_cases": int(enumerated.sum()), "absence": str(interactions.absence),
            "max_players": settings["interaction_max_players"],
            "convention": interactions.settings.get("convention"), "top_pairs": top}
