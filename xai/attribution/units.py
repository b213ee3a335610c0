"""Attributions in a property's original units, where its target transform allows.

Attributions live in standardised model units: ``z = (t(y) - mean) / std`` with ``t`` the
identity or the logarithm. A share ``a`` of a prediction's change in ``z`` is then, in original
units:

- identity: ``a * std`` added to the property (same unit as the property);
- log: a factor ``exp(a * std)`` multiplying the property (a step in ``log y`` is a ratio of
  ``y``; "x1.8" means the ingredient's share raises the prediction 1.8-fold).

Only these two transforms are exact; anything else gets no conversion.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

ADDITIVE, FACTOR = "additive", "factor"


def unit_conversion(transform: str, std: float) -> dict | None:
    """How a model-unit attribution reads in original units: ``{"kind": "additive" |
    "factor", "scale": std, "transform"}``, or None when the transform has no exact reading."""
    if not (std is not None and math.isfinite(std) and std > 0):
        return None
    if transform == "identity":
        return {"kind": ADDITIVE, "scale": float(std), "transform": transform}
    if transform == "log":
        return {"kind": FACTOR, "scale": float(std), "transform": transform}
    return None


def to_original(value: float | None, conversion: Mapping | None) -> float | None:
    """``value`` (model units) in original units: an additive amount or a multiplicative
    factor (see :func:`unit_conversion`); None when either is missing."""
    if value is None or conversion is None or not math.isfinite(value):
        return None
    step = value * conversion["scale"]
    if conversion["kind"] == FACTOR:
        return math.exp(min(step, 700.0))
    return step


def conversions(scalers: Mapping) -> dict[str, dict | None]:
    """Property -> conversion for every target scaler (objects with ``transform``, ``std``)."""
    return {p: unit_conversion(s.transform, s.std) for p, s in scalers.items()}


def add_original_units(cases: Iterable[dict], table: Mapping[str, dict | None]) -> list[dict]:
    """The review cases (as :func:`xai.runs.audit_attributions.review_cases` builds them) with,
    per property, its ``conversion`` and, per ingredient, ``ig_original`` and
    ``shapley_original`` (None where the property has no conversion). Returns new dicts."""
    out = []
    for entry in cases:
        props = []
        for prop in entry["properties"]:
            c = table.get(prop["property"])
            rows = [{**r, "ig_original": to_original(r.get("ig"), c),
                     "shapley_original": to_original(r.get("shapley"), c)}
                    for r in prop["ingredients"]]
            props.append({**prop, "conversion": c, "ingredients": rows})
        out.append({**entry, "properties": props})
    return out


def importance_in_original_units(per_property: Mapping[str, Mapping],
                                 table: Mapping[str, dict | None], *, top: int = 5) -> dict:
    """Each property's ``top`` ingredients (a global importance entry: ``ingredients``,
    ``mean_signed``, ``counts``) with their mean signed attribution in original units:
    ``{property: {"kind", "ingredients", "mean_signed", "original", "counts"}}``; properties
    without a conversion are left out."""
    out = {}
    for prop, entry in per_property.items():
        c = table.get(prop)
        if c is None:
            continue
        names = list(entry["ingredients"][:top])
        signed = list(entry["mean_signed"][:top])
        out[prop] = {"kind": c["kind"], "ingredients": names, "mean_signed": signed,
                     "original": [to_original(v, c) for v in signed],
                     "counts": list(entry.get("counts", [])[:top])}
    return out
