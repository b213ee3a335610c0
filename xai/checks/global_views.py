"""Dataset-level views of an attribution set: which ingredients matter per property, and how an
ingredient's attribution depends on its amount (the points behind a dependence plot).

Attributions are in each property's standardised model units, so they are averaged within a
property, never across properties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xai.absence import Absence
from xai.attribution.results import Attribution


@dataclass(frozen=True)
class IngredientImportance:
    """One property's ingredients, most important first: mean |attribution|, mean signed
    attribution and the number of cases each was a player in."""

    property: str
    ingredients: tuple[str, ...]
    mean_abs: np.ndarray
    mean_signed: np.ndarray
    counts: np.ndarray

    def to_dict(self, top: int | None = None) -> dict:
        k = slice(None) if top is None else slice(top)
        return {
            "ingredients": list(self.ingredients[k]),
            "mean_abs": self.mean_abs[k].tolist(),
            "mean_signed": self.mean_signed[k].tolist(),
            "counts": self.counts[k].tolist(),
        }


@dataclass(frozen=True)
class GlobalImportance:
    """Per-property ingredient importance of one attribution set."""

    method: str
    absence: Absence
    per_property: dict[str, IngredientImportance]

    def to_dict(self, top: int | None = None) -> dict:
        return {
            "method": self.method,
            "absence": str(self.absence),
            "units": "standardised model units",
            "properties": {p: v.to_dict(top) for p, v in self.per_property.items()},
        }


@dataclass(frozen=True)
class DependencePoints:
    """Attribution versus amount (dataset units) of one ingredient for one property."""

    method: str
    property: str
    ingredient: str
    formulation_ids: tuple[str, ...]
    amounts: np.ndarray
    attributions: np.ndarray

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "property": self.property,
            "ingredient": self.ingredient,
            "formulation_ids": list(self.formulation_ids),
            "amounts": self.amounts.tolist(),
            "attributions": self.attributions.tolist(),
        }


def global_importance(attribution: Attribution) -> GlobalImportance:
    """Mean |attribution|, mean signed attribution and counts per (property, ingredient), over
    the cases where the ingredient is a player."""
    frame = _long(attribution)
    per_property = {}
    for prop, part in frame.groupby("property", sort=True):
        stats = part.groupby("ingredient", sort=True)["value"].agg(
            mean_abs=lambda v: float(np.mean(np.abs(v))), mean_signed="mean", counts="size")
        stats = stats.sort_values(["mean_abs", "counts"], ascending=[False, False], kind="stable")
        per_property[str(prop)] = IngredientImportance(
            property=str(prop),
            ingredients=tuple(str(i) for i in stats.index),
            mean_abs=stats["mean_abs"].to_numpy(np.float64),
            mean_signed=stats["mean_signed"].to_numpy(np.float64),
            counts=stats["counts"].to_numpy(np.int64),
        )
    return GlobalImportance(attribution.method, attribution.absence, per_property)


def dependence(attribution: Attribution, ingredient: str, property: str) -> DependencePoints:
    """Every (amount, attribution) point of ``ingredient`` in the cases of ``property``."""
    frame = _long(attribution)
    part = frame[(frame["ingredient"] == ingredient) & (frame["property"] == property)]
    return DependencePoints(
        method=attribution.method,
        property=property,
        ingredient=ingredient,
        formulation_ids=tuple(part["formulation_id"]),
        amounts=part["amount"].to_numpy(np.float64),
        attributions=part["value"].to_numpy(np.float64),
    )


def dependence_points(
    attribution: Attribution, *, top: int = 10, importance: GlobalImportance | None = None
) -> list[DependencePoints]:
    """Dependence points of each property's ``top`` ingredients by mean |attribution|."""
    importance = importance or global_importance(attribution)
    frame = _long(attribution)
    groups = frame.groupby(["property", "ingredient"], sort=False)
    out = []
    for prop, ranked in importance.per_property.items():
        for name in ranked.ingredients[:top]:
            part = groups.get_group((prop, name))
            out.append(DependencePoints(
                method=attribution.method, property=prop, ingredient=name,
                formulation_ids=tuple(part["formulation_id"]),
                amounts=part["amount"].to_numpy(np.float64),
                attributions=part["value"].to_numpy(np.float64),
            ))
    return out


def _long(attribution: Attribution) -> pd.DataFrame:
    """One row per finite (case, slot): formulation_id, property, ingredient, amount, value."""
    sizes = [len(names) for names in attribution.ingredients]
    width = attribution.values.shape[1]
    case = np.repeat(np.arange(len(sizes)), sizes)
    slot = np.concatenate([np.arange(s) for s in sizes]) if sizes else np.zeros(0, np.int64)
    inside = slot < width
    case, slot = case[inside], slot[inside]
    values = attribution.values[case, slot]
    keep = np.isfinite(values)
    names = np.array([n for names in attribution.ingredients for n in names], dtype=object)
    amounts = (np.concatenate(attribution.raw_amounts) if sizes
               else np.zeros(0))
    return pd.DataFrame({
        "formulation_id": np.asarray(attribution.formulation_ids, dtype=object)[case[keep]],
        "property": np.asarray(attribution.properties, dtype=object)[case[keep]],
        "ingredient": names[inside][keep],
        "amount": np.asarray(amounts, dtype=np.float64)[inside][keep],
        "value": values[keep],
    })
