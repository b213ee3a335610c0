"""Interval calibration and the applicability domain of a freshly trained model.

:func:`attach_trust` is called once training is done (see :func:`models.ensemble.fit_plan`):
it stores a :class:`~models.conformal.Conformal` calibration and a
:class:`~models.applicability.Domain` on the model and the empirical interval coverage on
held-out data in ``metrics["conformal"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.applicability import fit_domain
from models.conformal import (
    DEFAULT_COVERAGE,
    Conformal,
    coverage_table,
    cross_fitted_coverage,
    cross_validation,
    split_conformal,
)
from models.data import Dataset
from models.ensemble import member_predictions
from models.trained import TrainedModel


def split_calibration(model: TrainedModel, dataset: Dataset, *,
                      coverage: float = DEFAULT_COVERAGE) -> tuple[Conformal, dict]:
    """Split-conformal residuals on the model's validation recipes, and the coverage of the
    resulting intervals on its test recipes (standardised units; the same in original units,
    since the transform is monotone)."""
    calibration = _z_rows(model, dataset, model.split.validation)
    conformal = split_conformal(calibration["property"], calibration["z_value"],
                                calibration["z_prediction"], coverage=coverage)
    test = _z_rows(model, dataset, model.split.test)
    low, high = np.zeros(len(test)), np.zeros(len(test))
    for prop in test["property"].unique():
        here = (test["property"] == prop).to_numpy()
        low[here], high[here] = conformal.interval_z(prop, test["z_prediction"].to_numpy()[here])
    table = coverage_table(test["property"], test["z_value"], low, high, coverage)
    table["method"] = "split"
    table["held_out"] = ("intervals calibrated on the validation recipes, coverage measured on "
                         "the test recipes")
    return conformal, table


def attach_trust(model: TrainedModel, dataset: Dataset, train_ids, *,
                 conformal: Conformal | None = None, coverage_table_: dict | None = None,
                 coverage: float = DEFAULT_COVERAGE) -> TrainedModel:
    """Store intervals and the applicability domain on ``model`` (in place; returned).

    An ensemble is calibrated on its out-of-fold residuals (intervals around the members'
    mean), its coverage measured fold by fold on residuals the calibration did not use; a
    single model takes ``conformal`` and ``coverage_table_`` (from :func:`split_calibration`,
    computed before any refit)."""
    recipes = dataset.recipes()
    chosen = [recipes[f] for f in sorted(set(train_ids))]
    spread = None
    ensemble = getattr(model, "ensemble", None)
    if ensemble is not None:
        model.conformal = cross_validation(ensemble.oof, coverage=coverage)
        table = cross_fitted_coverage(ensemble.oof, coverage=coverage)
        table["method"] = "cv"
        table["held_out"] = ("each fold's out-of-fold predictions covered by intervals "
                             "calibrated on the other folds' residuals")
        model.metrics["conformal"] = table
        spread = {p: member_predictions(model, chosen, [p] * len(chosen)).std(0)
                  for p in model.properties}
    else:
        model.conformal = conformal
        if coverage_table_ is not None:
            model.metrics["conformal"] = coverage_table_
    model.domain = fit_domain(chosen, spread=spread)
    return model


def _z_rows(model: TrainedModel, dataset: Dataset, ids) -> pd.DataFrame:
    m = dataset.measurements
    rows = m[m["formulation_id"].isin(set(ids)) & m["property"].isin(model.properties)]
    rows = rows.reset_index(drop=True)
    recipes = dataset.recipes()
    z = model.predict([recipes[f] for f in rows["formulation_id"]], rows["property"].tolist(),
                      standardised=True) if len(rows) else np.zeros(0)
    value = model.encoder.to_standard(rows["property"].tolist(),
                                      rows["value"].to_numpy(np.float64))
    return rows.assign(z_value=value, z_prediction=z)


def predict_table(model: TrainedModel, recipes: dict, rows: pd.DataFrame, *,
                  coverage: float | None = None) -> pd.DataFrame:
    """``rows`` (``formulation_id, property``) with ``prediction`` (original units; the
    members' mean for an ensemble), ``spread`` (members' standard deviation, ensembles only),
    ``lower`` and ``upper`` (the conformal interval at ``coverage``, default the calibrated
    one; absent without a calibration) and ``flags`` (:meth:`Domain.flags`; absent without a
    domain)."""
    out = rows.reset_index(drop=True).copy()
    chosen = [recipes[f] for f in out["formulation_id"]]
    props = out["property"].tolist()
    ensemble = getattr(model, "ensemble", None)
    if ensemble is not None and len(out):
        members = member_predictions(model, chosen, props)  # (K, N) standardised
        z, z_spread = members.mean(0), members.std(0)
        original = np.stack([model.encoder.from_standard(props, m) for m in members])
        out["prediction"] = model.encoder.from_standard(props, z)
        out["spread"] = original.std(0)
    else:
        members, z_spread = None, None
        z = (model.predict(chosen, props, standardised=True) if len(out) else np.zeros(0))
        out["prediction"] = model.encoder.from_standard(props, z)
    conformal = getattr(model, "conformal", None)
    if conformal is not None:
        low, high = np.empty(len(out)), np.empty(len(out))
        for prop in out["property"].unique():
            here = (out["property"] == prop).to_numpy()
            lz, hz = conformal.interval_z(prop, z[here],
                                          None if members is None else members[:, here],
                                          coverage=coverage)
            with np.errstate(over="ignore"):
                low[here] = model.encoder.from_standard([prop] * int(here.sum()), lz)
                high[here] = model.encoder.from_standard([prop] * int(here.sum()), hz)
        out["lower"], out["upper"] = low, high
    domain = getattr(model, "domain", None)
    if domain is not None:
        out["flags"] = domain.flags(chosen, z_spread, props)
    return out
