"""Result types of an inverse design: one :class:`Design` per returned recipe with a
:class:`PropertyPrediction` per property, the comparison of search methods, and the whole
:class:`DesignResult` with its long tables and strict JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xai.inverse.diversity import Diversity
from xai.inverse.targets import Target

__all__ = ["Design", "DesignConfig", "DesignResult", "MethodScore", "PropertyPrediction",
           "Trust", "strict_json"]


@dataclass(frozen=True)
class DesignConfig:
    """Settings of one design run.

    ``n`` designs are returned from ``budget`` scored candidates per method (NSGA-II runs whole
    generations of ``pop_size``, so it may use a little less; the baselines then get exactly
    what it used). ``start`` turns on counterfactual mode (``max_changes`` caps the ingredients
    that differ, the balance ingredient included when it moves). ``allowed`` / ``forbidden``
    restrict the ingredients, ``fixed`` holds some at an amount, ``balance`` names the balance
    ingredient (default: truth.json's). ``margin`` is the share of each target range kept free
    at both ends by the search (room for model error); ``range_slack`` widens every ingredient's
    training range by that fraction. ``methods`` lists the searches run: the first one's
    designs are returned, the others are baselines at the same budget.
    """

    n: int = 10
    budget: int = 2000
    seed: int = 0
    start: str | None = None
    max_changes: int | None = None
    allowed: tuple[str, ...] | None = None
    forbidden: tuple[str, ...] = ()
    fixed: tuple[tuple[str, float], ...] = ()
    balance: str | None = None
    methods: tuple[str, ...] = ("nsga2", "random")
    pop_size: int = 100
    margin: float = 0.35
    range_slack: float = 0.0
    max_ingredients: int = 40
    nearest: int = 3

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["fixed"] = dict(self.fixed)
        for k in ("allowed", "forbidden", "methods"):
            out[k] = list(out[k]) if out[k] is not None else None
        return out


@dataclass(frozen=True)
class PropertyPrediction:
    """What the model says of one property of one design, exactly as ``xai predict`` says it
    (:func:`models.calibration.predict_table`), in original units.

    ``value`` is the prediction (an ensemble's members' mean), ``spread`` the members'
    standard deviation (NaN for a single model), ``lower`` / ``upper`` the conformal interval
    at the model's calibrated coverage (NaN without a calibration; infinite where too few
    calibration residuals bound it), ``flags`` the applicability flags
    (:meth:`models.applicability.Domain.flags` tokens) and ``target`` the property's target,
    or None where it is not targeted.
    """

    property: str
    value: float
    lower: float = math.nan
    upper: float = math.nan
    spread: float = math.nan
    flags: tuple[str, ...] = ()
    target: Target | None = None

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.lower) or math.isnan(self.upper))

    @property
    def interval_reason(self) -> str | None:
        """Why there is no finite interval, or None when there is one."""
        if not self.has_interval:
            return "the model carries no interval calibration"
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            return ("unbounded: too few calibration residuals of this property for the "
                    "coverage")
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the prediction lies inside the target range (None where not targeted)."""
        if self.target is None:
            return None
        return bool(self.target.low <= self.value <= self.target.high)

    @property
    def interval_inside_target(self) -> bool | None:
        """Whether the whole interval lies inside the target range (None where not targeted or
        without an interval; False for an unbounded one)."""
        if self.target is None or not self.has_interval:
            return None
        return bool(self.target.low <= self.lower and self.upper <= self.target.high)

    def to_dict(self) -> dict:
        return {
            "property": self.property, "prediction": self.value, "spread": self.spread,
            "lower": self.lower, "upper": self.upper, "interval_reason": self.interval_reason,
            "flags": list(self.flags), "targeted": self.target is not None,
            "target": None if self.target is None else {"low": self.target.low,
                                                        "high": self.target.high},
            "meets_target": self.meets_target,
            "interval_inside_target": self.interval_inside_target,
        }


@dataclass(frozen=True)
class Trust:
    """Where a design's intervals and flags come from.

    ``coverage`` and ``interval_method`` (``split`` or ``cv+``) of the model's conformal
    calibration, or ``interval_reason`` why there are no intervals; ``flags_source`` is
    ``"model"`` (the domain stored at training) or ``"training recipes"`` (a model without one:
    the same domain, fitted here on the design space's training recipes, ``flags_reason``
    saying so).
    """

    coverage: float | None = None
    interval_method: str | None = None
    interval_reason: str | None = None
    flags_source: str = "model"
    flags_reason: str | None = None

    def to_dict(self) -> dict:
        return {"intervals": {"coverage": self.coverage, "method": self.interval_method,
                              "reason": self.interval_reason},
                "flags": {"source": self.flags_source, "reason": self.flags_reason}}


@dataclass(frozen=True)
class Design:
    """One returned recipe and its evidence.

    ``predictions`` holds a :class:`PropertyPrediction` for every property the model predicts,
    the targeted ones first, in target order; ``target_distance`` maps each targeted property
    to its prediction's distance outside the range in standardised units; ``truth`` to its
    noise-free value (None without truth.json); ``nearest`` lists (training formulation id,
    composition distance); ``changes`` lists ``{"ingredient", "start", "design"}`` amounts
    (counterfactual mode); ``attribution`` holds the Shapley values of the change per property
    (standardised units), or None.
    """

    design_id: str
    ingredients: tuple[str, ...]
    amounts: np.ndarray
    predictions: tuple[PropertyPrediction, ...]
    target_distance: dict[str, float]
    data_distance: float
    nearest: tuple[tuple[str, float], ...]
    changes: tuple[dict, ...] = ()
    attribution: dict | None = None
    truth: dict[str, float] | None = None
    truth_meets: bool | None = None

    @property
    def targeted(self) -> tuple[PropertyPrediction, ...]:
        return tuple(p for p in self.predictions if p.target is not None)

    @property
    def predicted(self) -> dict[str, float]:
        """Targeted property -> prediction (original units)."""
        return {p.property: p.value for p in self.targeted}

    @property
    def meets(self) -> bool:
        """Whether the prediction of every targeted property lies inside its range."""
        return all(p.meets_target for p in self.targeted)

    @property
    def intervals_inside(self) -> bool | None:
        """Whether every targeted property's whole interval lies inside its range (None without
        intervals)."""
        inside = [p.interval_inside_target for p in self.targeted]
        return None if any(i is None for i in inside) else all(inside)

    @property
    def flags(self) -> tuple[str, ...]:
        """Every applicability flag of the design, over all properties, in first order."""
        return tuple(dict.fromkeys(f for p in self.predictions for f in p.flags))

    def to_dict(self) -> dict:
        return {
            "design_id": self.design_id,
            "recipe": {c: float(a) for c, a in zip(self.ingredients, self.amounts, strict=True)},
            "predictions": [p.to_dict() for p in self.predictions],
            "target_distance": self.target_distance, "meets_targets": self.meets,
            "intervals_inside_targets": self.intervals_inside,
            "data_distance": self.data_distance,
            "nearest_training": [{"formulation_id": f, "distance": d} for f, d in self.nearest],
            "flags": list(self.flags), "changes": list(self.changes),
            "attribution": self.attribution, "truth": self.truth,
            "meets_targets_under_truth": self.truth_meets,
        }


@dataclass(frozen=True)
class MethodScore:
    """How one search method did: budget used, time, and its selected designs' success."""

    method: str
    evaluations: int
    seconds: float
    n_designs: int
    share_meeting_model: float
    share_meeting_truth: float | None
    candidates_meeting_model: int
    diversity: Diversity

    def to_dict(self) -> dict:
        return {"method": self.method, "evaluations": self.evaluations,
                "seconds": self.seconds, "n_designs": self.n_designs,
                "share_meeting_model": self.share_meeting_model,
                "share_meeting_truth": self.share_meeting_truth,
                "candidates_meeting_model": self.candidates_meeting_model,
                "diversity": self.diversity.to_dict()}


@dataclass(frozen=True)
class DesignResult:
    """Designs returned by the first method, its diversity, and every method's score;
    ``trust`` says where the designs' intervals and flags come from, ``units`` maps properties
    to their units (properties.csv)."""

    targets: tuple[Target, ...]
    designs: tuple[Design, ...]
    diversity: Diversity
    methods: tuple[MethodScore, ...]
    config: DesignConfig
    space: dict = field(default_factory=dict)
    seconds: float = math.nan
    trust: Trust = field(default_factory=Trust)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """Whether at least one returned design meets every target under the model."""
        return any(d.meets for d in self.designs)

    def __getitem__(self, i: int) -> Design:
        return self.designs[i]

    def __len__(self) -> int:
        return len(self.designs)

    def frame(self) -> pd.DataFrame:
        """Long table ``formulation_id, ingredient, amount`` (like formulations.csv)."""
        rows = [(d.design_id, c, float(a)) for d in self.designs
                for c, a in zip(d.ingredients, d.amounts, strict=True)]
        return pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"])

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per (design, property): ``formulation_id`` (the design id, as
        in designs.csv), ``property``, ``prediction``, ``spread``, ``lower``, ``upper`` and
        ``flags`` (``;``-joined) as ``xai predict`` writes them, then ``targeted``,
        ``target_low``, ``target_high``, ``meets_target`` and ``interval_inside_target``."""
        rows = [(d.design_id, p.property, p.value, p.spread, p.lower, p.upper,
                 ";".join(p.flags), p.target is not None,
                 math.nan if p.target is None else p.target.low,
                 math.nan if p.target is None else p.target.high,
                 p.meets_target, p.interval_inside_target)
                for d in self.designs for p in d.predictions]
        return pd.DataFrame(rows, columns=[
            "formulation_id", "property", "prediction", "spread", "lower", "upper", "flags",
            "targeted", "target_low", "target_high", "meets_target", "interval_inside_target"])

    def to_dict(self) -> dict:
        return {
            "targets": [t.to_dict() for t in self.targets],
            "feasible": self.feasible,
            "designs": [d.to_dict() for d in self.designs],
            "diversity": self.diversity.to_dict(),
            "methods": [m.to_dict() for m in self.methods],
            "settings": self.config.to_dict(),
            "space": self.space,
            "seconds": self.seconds,
            **self.trust.to_dict(),
            "units": self.units,
        }


def strict_json(data) -> str:
    """``design.json``'s text: the project's one JSON policy (:func:`models.io.dumps_json`:
    NumPy values as plain ones, NaN and infinities as null), indented with sorted keys."""
    from models.io import dumps_json

    return dumps_json(data)
