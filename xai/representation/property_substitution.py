"""Property substitution: predict a low-data property with another property's task vector.

A property with few training measurements has a poorly trained task vector. If a related
property (same group, e.g. viscosity on the other spindle) was trained on many more, its vector
may serve the low-data property better. :func:`property_substitution` tests this without
retraining: the low-data property's test measurements are predicted with every other property's
vector (forward's ``property_vectors``) and the test error is compared with its own vector's,
paired over the same measurements. :func:`property_retraining` tests it with retraining, across
seeds (initialise from the donor's vector, or tie the two properties to one vector).

Which scaler turns the output into original units? Property ids only select the task vector, so
with the donor's vector the Mixer outputs exactly its prediction of the *donor*, in the donor's
standardised units. Two readings are reported (``scaler``):

``target``
    de-standardise with the low-data property's own scaler: the donor's z-score is read as the
    low-data property's z-score. This is what the user asks for (a value of the low-data
    property) and absorbs constant offsets and factors between related properties (the 6-pin
    spindle reads a constant factor below the 4-pin one: a constant shift in log units).
``donor``
    de-standardise with the donor's scaler: the donor's prediction taken as it is, in the
    donor's units; right only when both properties share units and level.

The headline reads ``target``. A property with no training measurement at all has a
placeholder scaler (mean 0, std 1), so only its ``donor`` reading means anything. Errors are in
the low-data property's original units, on every test measurement row (repeats count
separately, as in the model's own test metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from models.data import Dataset
from models.modes import evaluation
from models.trained import TrainedModel
from xai.stats import (
    mean_difference_interval,
    rmse_difference_interval,
    sign_flip_pvalue,
)

SCALERS = ("target", "donor")


@dataclass(frozen=True)
class PropertySwapResult:
    """The low-data ``property`` predicted with ``donor``'s task vector, read with ``scaler``.

    ``own_*`` are its test errors with its own vector, ``mae`` / ``rmse`` with the donor's, all
    in the property's original units over ``n_cases`` test measurements; ``*_change`` = donor
    minus own (negative: the donor's vector predicts better) with paired bootstrap intervals,
    and ``p_value`` a sign-flip test of the per-measurement change in absolute error.
    ``recommended`` marks the nearest (L2 ``distance`` between task vectors) high-data donor in
    the same property group.
    """

    property: str
    donor: str
    scaler: str
    n_cases: int
    train_count: int
    donor_train_count: int
    same_group: bool
    high_data: bool
    recommended: bool
    distance: float
    own_mae: float
    own_rmse: float
    mae: float
    rmse: float
    mae_change: float
    mae_change_low: float
    mae_change_high: float
    rmse_change: float
    rmse_change_low: float
    rmse_change_high: float
    p_value: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PropertySubstitution:
    """Every (low-data property, donor, scaler) result, the headline and what was skipped."""

    results: list[PropertySwapResult]
    headline: dict
    low_data: dict[str, int]
    skipped: list[dict]
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "results": [r.to_dict() for r in self.results],
            "headline": self.headline,
            "low_data": dict(self.low_data),
            "skipped": [dict(s) for s in self.skipped],
            "settings": dict(self.settings),
            "units": "errors in the low-data property's original units",
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per (low-data property, donor, scaler) result (not a case), the columns of
        :class:`PropertySwapResult`."""
        columns = list(PropertySwapResult.__dataclass_fields__)
        return pd.DataFrame([r.to_dict() for r in self.results], columns=columns)


def training_counts(model: TrainedModel, dataset: Dataset, exclude: Sequence[str] = ()) -> dict:
    """Training measurements per model property: as recorded in the checkpoint's metrics when
    they are (so a folder the model never saw does not make every property low-data), else rows
    on ``model.split.train``, or, without a recorded split, on every formulation not in
    ``exclude``."""
    recorded = (getattr(model, "metrics", None) or {}).get("properties", {})
    if recorded and all("n" in recorded.get(p, {}).get("train", {}) for p in model.properties):
        return {p: int(recorded[p]["train"]["n"]) for p in model.properties}
    m = dataset.measurements
    rows = (m["formulation_id"].isin(set(model.split.train)) if model.split is not None
            else ~m["formulation_id"].isin(set(exclude)))
    counts = m.loc[rows, "property"].value_counts()
    return {p: int(counts.get(p, 0)) for p in model.properties}


def property_substitution(
    model: TrainedModel,
    dataset: Dataset,
    formulation_ids: Sequence[str],
    *,
    low_data_threshold: int = 100,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> PropertySubstitution:
    """Predict each low-data property's measurements on ``formulation_ids`` (usually the test
    split) with every other property's task vector.

    A property is low-data when it has fewer than ``low_data_threshold`` training measurements.
    """
    counts = training_counts(model, dataset, formulation_ids)
    low = {p: n for p, n in counts.items() if n < low_data_threshold}
    groups = dataset.property_groups()
    rows = dataset.measurements[dataset.measurements["formulation_id"].isin(set(formulation_ids))]
    table = model.mixer.property_table().detach()  # (n_properties, mixer_dim)
    results, skipped = [], []
    for prop in sorted(low):
        here = rows[rows["property"] == prop].reset_index(drop=True)
        if len(here) == 0:
            skipped.append({"property": prop, "reason": "no measurements in these formulations"})
            continue
        donors = [p for p in model.properties if p != prop]
        z = _predict_with_vectors(model, dataset, here, [prop, *donors], table)  # (1 + D, N)
        y = here["value"].to_numpy(np.float64)
        own = model.encoder.from_standard([prop] * len(y), z[0]) - y
        recommended = _nearest_high_data(prop, donors, groups, counts, low_data_threshold, table,
                                         model)
        for donor, z_donor in zip(donors, z[1:], strict=True):
            distance = float(torch.linalg.vector_norm(
                table[model.encoder.property_id(donor)] - table[model.encoder.property_id(prop)]))
            for scaler in SCALERS:
                read_as = prop if scaler == "target" else donor
                error = model.encoder.from_standard([read_as] * len(y), z_donor) - y
                results.append(_swap_result(
                    prop, donor, scaler, own, error, counts, groups, low_data_threshold,
                    donor == recommended, distance, n_bootstrap, seed))
    return PropertySubstitution(
        results=results,
        headline=_headline(results),
        low_data=low,
        skipped=skipped,
        settings={"low_data_threshold": low_data_threshold, "n_bootstrap": n_bootstrap,
                  "seed": seed, "n_formulations": len(set(formulation_ids))},
    )


@torch.no_grad()
def _predict_with_vectors(
    model: TrainedModel, dataset: Dataset, rows: pd.DataFrame, vector_of: Sequence[str],
    table: torch.Tensor, batch_size: int = 4096,
) -> np.ndarray:
    """(V, N) standardised predictions of measurement ``rows``, the v-th with the task vector of
    property ``vector_of[v]``; one batched forward pass per vector (chunked by ``batch_size``)."""
    samples = model.samples(rows, dataset.recipes())
    out = np.empty((len(vector_of), len(samples)))
    with evaluation(model.mixer) as mixer:
        for start in range(0, len(samples), batch_size):
            index = torch.arange(start, min(start + batch_size, len(samples)))
            prop_ids, ids, amounts, mask, _ = samples.batch(index)
            for v, name in enumerate(vector_of):
                vectors = table[model.encoder.property_id(name)].expand(len(index), -1)
                out[v, index.numpy()] = mixer(prop_ids, ids, amounts, mask,
                                              property_vectors=vectors).numpy()
    return out


def _nearest_high_data(
    prop: str, donors: list[str], groups: dict[str, str], counts: dict[str, int],
    threshold: int, table: torch.Tensor, model: TrainedModel,
) -> str | None:
    """The high-data property of ``prop``'s group whose task vector is nearest (L2)."""
    group = groups.get(prop)
    candidates = [d for d in donors if group is not None and groups.get(d) == group
                  and counts[d] >= threshold]
    if not candidates:
        return None
    mine = table[model.encoder.property_id(prop)]
    distances = [float(torch.linalg.vector_norm(table[model.encoder.property_id(d)] - mine))
                 for d in candidates]
    return candidates[int(np.argmin(distances))]


def _swap_result(
    prop: str, donor: str, scaler: str, own: np.ndarray, error: np.ndarray, counts: dict,
    groups: dict, threshold: int, recommended: bool, distance: float, n_bootstrap: int,
    seed: int,
) -> PropertySwapResult:
    mae = mean_difference_interval(np.abs(error), np.abs(own), n_resamples=n_bootstrap, seed=seed)
    rmse = rmse_difference_interval(error, own, n_resamples=n_bootstrap, seed=seed)
    return PropertySwapResult(
        property=prop, donor=donor, scaler=scaler, n_cases=len(own),
        train_count=counts[prop], donor_train_count=counts[donor],
        same_group=groups.get(prop) is not None and groups.get(prop) == groups.get(donor),
        high_data=counts[donor] >= threshold, recommended=recommended, distance=distance,
        own_mae=float(np.mean(np.abs(own))), own_rmse=float(np.sqrt(np.mean(own**2))),
        mae=float(np.mean(np.abs(error))), rmse=float(np.sqrt(np.mean(error**2))),
        mae_change=mae.estimate, mae_change_low=mae.low, mae_change_high=mae.high,
        rmse_change=rmse.estimate, rmse_change_low=rmse.low, rmse_change_high=rmse.high,
        p_value=sign_flip_pvalue(np.abs(error) - np.abs(own), n_resamples=n_bootstrap, seed=seed),
    )


def _headline(results: list[PropertySwapResult]) -> dict:
    """Per low-data property (target scaler): the recommended donor's change in MAE and the
    best donor; overall, how many low-data properties the recommended donor improves."""
    per_property = {}
    for prop in dict.fromkeys(r.property for r in results):
        mine = [r for r in results if r.property == prop and r.scaler == "target"]
        best = min(mine, key=lambda r: r.mae)
        rec = next((r for r in mine if r.recommended), None)
        per_property[prop] = {
            "train_count": mine[0].train_count,
            "n_cases": mine[0].n_cases,
            "own_mae": mine[0].own_mae,
            "own_rmse": mine[0].own_rmse,
            "recommended_donor": rec.donor if rec else None,
            "recommended_mae_change": [rec.mae_change, rec.mae_change_low, rec.mae_change_high]
            if rec else None,
            "recommended_improves": bool(rec and rec.mae_change_high < 0),
            "best_donor": best.donor,
            "best_mae_change": best.mae_change,
            "donors_improving": sorted(r.donor for r in mine if r.mae_change_high < 0),
        }
    with_rec = [v for v in per_property.values() if v["recommended_donor"]]
    return {
        "question": "does a related high-data property's task vector predict a low-data "
                    "property better than its own?",
        "scaler": "target",
        "n_low_data_properties": len(per_property),
        "n_with_recommended_donor": len(with_rec),
        "n_improved_by_recommended": sum(v["recommended_improves"] for v in with_rec),
        "properties": per_property,
    }
