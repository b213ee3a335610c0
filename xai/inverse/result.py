"""Result types of an inverse design: one :class:`Design` per returned recipe, the comparison of
search methods, and the whole :class:`DesignResult` with its long table and strict JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xai.inverse.diversity import Diversity
from xai.inverse.targets import Target

__all__ = ["Design", "DesignConfig", "DesignResult", "MethodScore", "strict_json"]


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
class Design:
    """One returned recipe and its evidence.

    ``predicted`` / ``truth`` map each targeted property to its value in original units (truth
    is None without truth.json); ``target_distance`` to the distance outside its range in
    standardised units; ``nearest`` lists (training formulation id, distance); ``changes`` lists
    ``{"ingredient", "start", "design"}`` amounts (counterfactual mode); ``attribution`` holds
    the Shapley values of the change per property (standardised units), or None.
    """

    design_id: str
    ingredients: tuple[str, ...]
    amounts: np.ndarray
    predicted: dict[str, float]
    target_distance: dict[str, float]
    meets: bool
    data_distance: float
    nearest: tuple[tuple[str, float], ...]
    flags: tuple[str, ...] = ()
    changes: tuple[dict, ...] = ()
    attribution: dict | None = None
    truth: dict[str, float] | None = None
    truth_meets: bool | None = None

    def to_dict(self) -> dict:
        return {
            "design_id": self.design_id,
            "recipe": {c: float(a) for c, a in zip(self.ingredients, self.amounts, strict=True)},
            "predicted": self.predicted, "target_distance": self.target_distance,
            "meets_targets": self.meets, "data_distance": self.data_distance,
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
    """Designs returned by the first method, its diversity, and every method's score."""

    targets: tuple[Target, ...]
    designs: tuple[Design, ...]
    diversity: Diversity
    methods: tuple[MethodScore, ...]
    config: DesignConfig
    space: dict = field(default_factory=dict)
    seconds: float = math.nan

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
        }


def strict_json(data) -> str:
    """``design.json``'s text: the project's one JSON policy (:func:`models.io.dumps_json`:
    NumPy values as plain ones, NaN and infinities as null), indented with sorted keys."""
    from models.io import dumps_json

    return dumps_json(data)
