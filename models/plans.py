"""How to train, chosen by data size: a single model or a cross-fitted ensemble, refit or not,
smoothed early stopping or not (see :mod:`models.ensemble`), then intervals and the
applicability domain (:mod:`models.calibration`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from models.calibration import attach_trust, split_calibration
from models.data import DataError, Dataset, Problem
from models.ensemble import SMALL_DATA_ENSEMBLE, fit_ensemble, refit_all
from models.pipeline import fit_model, measured_formulations
from models.trained import TrainedModel
from models.training import TrainConfig

SMALL_DATA_RECIPES = 1000
SMALL_DATA_SMOOTHING = 5


@dataclass(frozen=True)
class FitPlan:
    """How to train: ``ensemble`` members (1: a single model), ``refit`` on all the data,
    early stopping on the median of the last ``smoothing`` validation losses; ``reason`` says
    why (flags, or the defaults for the data's size)."""

    ensemble: int = 1
    refit: bool = False
    smoothing: int = 1
    reason: str = ""

    def describe(self) -> str:
        what = (f"{self.ensemble}-member cross-fitted ensemble" if self.ensemble > 1 else
                "single model on a train / validation / test split")
        extra = [x for x, on in (("refit on all data at the chosen epoch count", self.refit),
                                 (f"early stopping on the median of the last {self.smoothing} "
                                  "validation losses", self.smoothing > 1)) if on]
        return ", ".join([what, *extra]) + (f" ({self.reason})" if self.reason else "")

    def to_dict(self) -> dict:
        return {"ensemble": self.ensemble, "refit": self.refit, "smoothing": self.smoothing,
                "reason": self.reason, "description": self.describe()}


def plan_for(n_recipes: int, *, ensemble: int | None = None, refit: bool | None = None,
             smoothing: int | None = None) -> FitPlan:
    """The training plan for ``n_recipes`` measured recipes: under :data:`SMALL_DATA_RECIPES`,
    a 5-member ensemble refitted on all data with smoothed early stopping; else a single model.
    Arguments that are not None override the defaults."""
    small = n_recipes < SMALL_DATA_RECIPES
    defaults = (FitPlan(SMALL_DATA_ENSEMBLE, True, SMALL_DATA_SMOOTHING) if small
                else FitPlan())
    given = {k: v for k, v in (("ensemble", ensemble), ("refit", refit),
                               ("smoothing", smoothing)) if v is not None}
    size = (f"{n_recipes} recipes, {'under' if small else 'at least'} {SMALL_DATA_RECIPES}")
    reason = f"defaults for {size}" + ("; flags: " + ", ".join(
        f"{k}={v}" for k, v in given.items()) if given else "")
    plan = replace(defaults, **given, reason=reason)
    if plan.ensemble < 1 or plan.smoothing < 1:
        raise ValueError("ensemble and smoothing must be at least 1")
    return plan



def fit_plan(dataset: Dataset, plan: FitPlan, *, mixer_options: dict | None = None,
             train_config: TrainConfig | None = None, progress: bool = True) -> TrainedModel:
    """Train as ``plan`` says; the model's metrics record the plan under ``metrics["plan"]``."""
    train_config = replace(train_config or TrainConfig(), smoothing=plan.smoothing)
    measured = measured_formulations(dataset)
    if len(measured) < max(plan.ensemble, 3):
        raise DataError(dataset.root, [Problem(
            "measurements.csv", None, f"{len(measured)} measured formulations are too few to "
            f"train on: a train, validation and test split (or {plan.ensemble} ensemble folds) "
            f"needs at least {max(plan.ensemble, 3)}")])
    if plan.ensemble > 1:
        model = fit_ensemble(dataset, k=plan.ensemble, refit=plan.refit,
                             mixer_options=mixer_options, train_config=train_config,
                             progress=progress)
        attach_trust(model, dataset, measured_formulations(dataset))
    else:
        model = fit_model(dataset, mixer_options=mixer_options, train_config=train_config,
                          progress=progress)
        conformal, table = split_calibration(model, dataset)
        train_ids = model.split.train
        if plan.refit:
            model = refit_all(model, dataset, epochs=model.history.best_epoch + 1,
                              progress=progress)
            table["held_out"] += " (before the refit on all data)"
            train_ids = model.split.train
        attach_trust(model, dataset, train_ids, conformal=conformal, coverage_table_=table)
    model.metrics["plan"] = plan.to_dict()
    return model
