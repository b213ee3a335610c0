"""``design(model, dataset, targets)``: recipes that reach property targets, with evidence."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from xai.inverse.diversity import diversity, select_designs
from xai.inverse.evidence import change_shapley, truth_values
from xai.inverse.problem import DesignSpace, build_space
from xai.inverse.result import Design, DesignConfig, DesignResult, MethodScore, Trust
from xai.inverse.scoring import Scorer
from xai.inverse.search import Archive, run_method
from xai.inverse.targets import DesignError, Target, check_targets
from xai.inverse.trust import design_predictions

__all__ = ["design"]


def design(model, dataset, targets: Iterable[Target | str],
           config: DesignConfig | None = None) -> DesignResult:
    """Search recipes for which ``model`` predicts every target, and explain each one.

    Each design states, for every property the model predicts, what ``xai predict`` would: the
    prediction (an ensemble's members' mean), the conformal interval at the calibrated coverage
    and the applicability flags of the model's domain (see :mod:`xai.inverse.trust`).

    Parameters
    ----------
    model : a ``TrainedModel``.
    dataset : the ``Dataset`` the model was trained on (training recipes give the ingredient
        ranges and the "near the data" reference; measurements the reachable target ranges;
        truth.json, when present, scores every design without noise).
    targets : ``Target`` objects or strings ``PROP=LO..HI`` / ``PROP=V+-TOL`` (original units).
    config : a :class:`DesignConfig` (defaults otherwise).

    Raises
    ------
    TargetError (a DesignError) on an unknown property, an empty range or a range the data
    never reached; DesignError on impossible options. An infeasible problem is not an error:
    the nearest designs come back with their distances and ``result.feasible`` is False.
    """
    config = config or DesignConfig()
    started = time.perf_counter()
    if config.n < 1 or config.budget < 2 or config.pop_size < 2:
        raise DesignError("n must be >= 1, budget >= 2 and pop_size >= 2")
    if not 0 <= config.margin < 0.5:
        raise DesignError("margin must be in [0, 0.5)")
    if not config.methods:
        raise DesignError("name at least one search method")
    m = dataset.measurements
    observed = {p: m.loc[m["property"] == p, "value"].to_numpy() for p in set(m["property"])}
    targets = check_targets(targets, model_properties=model.properties, observed=observed,
                            transforms=dataset.property_transforms())
    space = build_space(model, dataset, start=config.start, max_changes=config.max_changes,
                        allowed=config.allowed, forbidden=config.forbidden,
                        fixed=dict(config.fixed), balance=config.balance,
                        max_ingredients=config.max_ingredients, range_slack=config.range_slack)
    properties = [t.property for t in targets]

    scores, designs, returned_div, trust = [], (), None, Trust()
    budget = config.budget
    for i, method in enumerate(config.methods):
        scorer = Scorer(model, space, targets, margin=config.margin)
        archive = run_method(method, space, scorer, budget=budget, seed=config.seed,
                             pop_size=config.pop_size)
        if i == 0:
            budget = max(archive.evaluations, 2)  # the baselines get exactly what it used
        chosen = select_designs(space, archive.x, archive.evaluation, config.n)
        x = archive.x[chosen]
        truth = truth_values(dataset.truth, space, x, properties) if dataset.truth else None
        met_truth = None if truth is None else _meets(targets, truth)
        div = diversity(space, x)
        scores.append(MethodScore(
            method=method, evaluations=archive.evaluations, seconds=archive.seconds,
            n_designs=len(chosen),
            share_meeting_model=float(archive.evaluation.meets[chosen].mean()) if len(chosen)
            else 0.0,
            share_meeting_truth=None if met_truth is None else float(met_truth.mean()),
            candidates_meeting_model=int(archive.evaluation.meets.sum()), diversity=div))
        if i == 0:
            designs, trust = _evidence(model, dataset, space, targets, scorer, archive, chosen,
                                       truth, met_truth, config)
            returned_div = div
    units = dataset.property_units()
    return DesignResult(
        targets=tuple(targets), designs=designs, diversity=returned_div, methods=tuple(scores),
        config=config, space=_space_summary(space), seconds=time.perf_counter() - started,
        trust=trust, units={p: units[p] for p in model.properties if p in units})


def _meets(targets: list[Target], values: np.ndarray) -> np.ndarray:
    low = np.array([t.low for t in targets])
    high = np.array([t.high for t in targets])
    return ((values >= low) & (values <= high)).all(1)


def _evidence(model, dataset, space: DesignSpace, targets: list[Target], scorer: Scorer,
              archive: Archive, chosen: np.ndarray, truth: np.ndarray | None,
              met_truth: np.ndarray | None, config: DesignConfig
              ) -> tuple[tuple[Design, ...], Trust]:
    ev = archive.evaluation
    x = archive.x[chosen]
    properties = [t.property for t in targets]
    dist, near = space.nearest_training(x, k=min(config.nearest, len(space.training)))
    width = len(str(len(chosen)))
    ids = [f"D{r + 1:0{width}d}" for r in range(len(chosen))]
    recipes = {i: space.recipe(row) for i, row in zip(ids, x, strict=True)}
    predictions, trust = design_predictions(model, dataset, space, targets, recipes)
    # the distance of the stated prediction (the one xai predict gives) to each target
    stated = np.array([[p.value for p in predictions[i][:len(targets)]] for i in ids],
                      dtype=np.float64).reshape(len(ids), len(targets))  # (N, T)
    z = np.column_stack([model.encoder.to_standard([p] * len(ids), stated[:, k])
                         for k, p in enumerate(properties)]) if ids else stated
    distance = scorer.target_distance(z)
    out = []
    for r, design_id in enumerate(ids):
        codes, amounts = recipes[design_id]
        attribution, changes = None, ()
        if space.start is not None:
            moved = np.flatnonzero(space.changed(x[r][None, :])[0])
            changes = tuple({"ingredient": space.codes[j], "start": float(space.start[j]),
                             "design": float(x[r, j])} for j in moved)
            shap = change_shapley(scorer, x[r], seed=config.seed)
            attribution = {
                "units": "standardised model output",
                "players": shap["players"], "exact": shap["exact"],
                "start_prediction": dict(zip(properties, shap["start"].tolist(), strict=True)),
                "design_prediction": dict(zip(properties, shap["design"].tolist(), strict=True)),
                "values": {p: dict(zip(shap["players"], shap["values"][i].tolist(), strict=True))
                           for i, p in enumerate(properties)},
            }
        out.append(Design(
            design_id=design_id, ingredients=tuple(codes), amounts=amounts,
            predictions=predictions[design_id],
            target_distance=dict(zip(properties, distance[r].tolist(), strict=True)),
            data_distance=float(ev.data_distance[chosen[r]]),
            nearest=tuple((space.training_ids[i], float(d))
                          for i, d in zip(near[r], dist[r], strict=True)),
            changes=changes, attribution=attribution,
            truth=None if truth is None else dict(zip(properties, truth[r].tolist(), strict=True)),
            truth_meets=None if met_truth is None else bool(met_truth[r]),
        ))
    return tuple(out), trust


def _space_summary(space: DesignSpace) -> dict:
    return {
        "ingredients": int((~space.banned).sum()), "vocabulary": space.n_vars,
        "total": space.total,
        "balance_ingredient": None if space.balance is None else space.codes[space.balance],
        "training_recipes": len(space.training), "spacing": space.spacing,
        "start": space.start_id, "max_changes": space.max_changes,
        "max_ingredients": space.max_ingredients,
    }
