"""The notebook entry points: ``xai.predict``, ``xai.explain``, ``xai.represent``, ``xai.audit``.

Thin wrappers: each normalises what a user hands over (recipes in any form
:mod:`xai.recipes` takes, an :class:`~xai.absence.Absence`) and calls the same
analysers the command line runs, with the command line's defaults. Nothing here computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xai.absence import Absence

if TYPE_CHECKING:
    import pandas as pd

    from models.data import Dataset
    from models.trained import TrainedModel
    from xai.attribution.results import Attribution
    from xai.hypotheses.context import Settings
    from xai.runs.audit import Audit
    from xai.runs.represent import RepresentResult
    from xai.runs.settings import AuditSettings

EXPLAIN_METHODS = ("shapley", "ig", "both")


def predict(
    model: TrainedModel,
    recipes: Any,
    properties: Sequence[str] | None = None,
    *,
    coverage: float | None = None,
    descriptors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Predictions in each property's original units, with their intervals and flags.

    ``recipes`` is a long DataFrame (``formulation_id, ingredient, amount``), a dict of dicts
    ``{formulation_id: {ingredient: amount}}`` or a :class:`models.Dataset`. Without
    ``properties``: every property the model predicts (for a Dataset, those measured on each
    formulation). Returns a DataFrame, one row per pair, as ``xai predict`` writes it:
    ``formulation_id, property, prediction`` (an ensemble's members' mean), ``spread`` (the
    members' standard deviation; ensembles only), ``lower, upper`` (the conformal interval at
    ``coverage``, default the calibrated 0.9; models trained with intervals) and ``flags``
    (applicability, see :mod:`models.applicability`; models trained with a domain).
    ``descriptors`` (an ingredients table with the model's descriptor columns) lets a model
    trained with descriptors predict recipes holding ingredients it never saw (flagged
    ``unseen:CODE``).
    """
    import pandas as pd

    from models.calibration import predict_table
    from xai.recipes import recipe_cases, with_descriptors

    model = with_descriptors(model, recipes, descriptors)
    cases = recipe_cases(model, recipes, properties)
    table = {f: (list(names), amounts) for f, names, amounts in
             zip(cases.formulation_ids, cases.ingredients, cases.raw_amounts, strict=True)}
    rows = pd.DataFrame({"formulation_id": list(cases.formulation_ids),
                         "property": list(cases.properties)})
    return predict_table(model, table, rows, coverage=coverage)


def explain(
    model: TrainedModel,
    recipes: Any,
    *,
    properties: Sequence[str] | None = None,
    method: str = "shapley",
    absence: Absence | None = None,
    seed: int = 0,
    exact_max: int | None = None,
    n_permutations: int | None = None,
    sampler: str | None = None,
    target_std_error: float | None = None,
    ig_tolerance: float | None = None,
    ig_max_steps: int | None = None,
    descriptors: pd.DataFrame | None = None,
    progress: bool = False,
) -> Attribution | dict[str, Attribution]:
    """Attribute each (recipe, property) prediction to the recipe's ingredients.

    Parameters
    ----------
    model : a trained model (:func:`models.load_model`).
    recipes : a long DataFrame, a dict of dicts or a Dataset (see :func:`predict`).
    properties : the properties to explain (default as in :func:`predict`).
    method : ``"shapley"`` (Shapley values over ingredient presence), ``"ig"`` (Integrated
        Gradients along the amounts) or ``"both"``.
    absence : what an absent ingredient means (default ``Absence.removed()``);
        ``Absence.balance("water")`` names the balance ingredient (for a Dataset, ``balance()``
        without a name takes the one its truth.json names).
    seed : seeds the permutations of sampled Shapley values.
    exact_max, n_permutations, sampler, target_std_error : Shapley values are enumerated up
        to ``exact_max`` players and estimated beyond from the model evaluations of
        ``n_permutations`` permutations, spent by ``sampler`` (``"kernel"``: KernelSHAP, or
        ``"permutation"``; see :func:`xai.attribution.shapley.shapley_values`); defaults as
        ``xai explain``.
    ig_tolerance, ig_max_steps : convergence of Integrated Gradients' adaptive quadrature.
    descriptors : an ingredients table that describes unseen ingredients (see :func:`predict`).

    Returns
    -------
    An :class:`~xai.attribution.results.Attribution` (N cases, values in each property's
    standardised model units), or ``{"ig": ..., "shapley": ...}`` for ``method="both"``.
    """
    from xai.attribution.integrated_gradients import integrated_gradients
    from xai.attribution.shapley import shapley_values
    from xai.recipes import recipe_cases, with_descriptors
    from xai.runs.settings import ExplainSettings

    if method not in EXPLAIN_METHODS:
        raise ValueError(f"method must be one of {EXPLAIN_METHODS}, not {method!r}")
    absence = Absence.removed() if absence is None else absence
    if not isinstance(absence, Absence):
        raise TypeError("absence must be an Absence (Absence.removed(), Absence.balance('water'),"
                        f" Absence.zero()), not {type(absence).__name__}")
    model = with_descriptors(model, recipes, descriptors)
    cases = recipe_cases(model, recipes, properties,
                         balance_ingredient=absence.balance_ingredient)
    if absence.kind == "balance" and cases.balance_ingredient is None:
        raise ValueError("Absence.balance() needs the balance ingredient: "
                         "Absence.balance('water')")
    defaults = ExplainSettings()
    mixer = model.mixer
    out: dict[str, Attribution] = {}
    if method in ("ig", "both"):
        out["ig"] = integrated_gradients(
            mixer, cases, absence=absence,
            tolerance=defaults.ig_tolerance if ig_tolerance is None else ig_tolerance,
            max_steps=defaults.ig_max_steps if ig_max_steps is None else ig_max_steps,
            progress=progress)
    if method in ("shapley", "both"):
        out["shapley"] = shapley_values(
            mixer, cases, absence=absence,
            exact_max=defaults.shapley_exact_max if exact_max is None else exact_max,
            n_permutations=(defaults.shapley_permutations if n_permutations is None
                            else n_permutations),
            sampler=defaults.shapley_sampler if sampler is None else sampler,
            target_std_error=target_std_error, seed=seed, progress=progress)
    return out if method == "both" else out[method]


def audit(
    model: TrainedModel,
    dataset: Dataset,
    settings: AuditSettings | None = None,
    *,
    progress: bool = False,
) -> Audit:
    """Every analysis ``xai report`` runs (accuracy, attention, attributions and their checks,
    representations, hypotheses), on ``dataset``; ``settings`` default to ``AuditSettings()``
    (``AuditSettings.quick()`` for a fast preview). Returns the :class:`~xai.runs.audit.Audit`
    whose ``results`` a report lays out."""
    from xai.runs.audit import run_audit

    return run_audit(model, dataset, settings=settings, say=print if progress else None)


def represent(
    model: TrainedModel,
    dataset: Dataset,
    *,
    formulation_ids: Sequence[str] | None = None,
    settings: Settings | None = None,
    seed: int = 0,
    progress: bool = False,
) -> RepresentResult:
    """What the model's ingredient and property vectors learned: geometry, agreement with
    expert groups, substitution experiments and the hypotheses' verdicts (as ``xai represent``),
    on ``dataset`` (its recipes in ``formulation_ids``, default the model's test split)."""
    from xai.runs.represent import represent as run_represent

    return run_represent(model, dataset, formulation_ids=formulation_ids, settings=settings,
                         seed=seed, progress=progress)
