"""Property targets of an inverse design: parsed from text, checked against model and data.

A target is a closed range ``[low, high]`` on one property in its original units, written
``PROP=LO..HI`` or ``PROP=V+-TOL`` (``±`` also accepted). The search works in the model's
standardised units, where the distance of a prediction ``z`` to a target is how far it lies
outside ``[z(low), z(high)]`` (0 inside); the transforms are monotone, so the range maps to a
range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DesignError", "Target", "TargetError", "check_targets", "parse_target"]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*(?P<low>{_NUMBER})\s*\.\.\s*(?P<high>{_NUMBER})\s*$")
_TOLERANCE = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?:\+-|±|\+/-)\s*(?P<tol>{_NUMBER})\s*$")


class DesignError(ValueError):
    """Design options that cannot work (unknown start recipe or ingredient, contradictory
    constraints); the command line exits 2 on it."""


class TargetError(DesignError):
    """A target that cannot be met by construction: unknown property, empty or unreachable
    range, unreadable text."""


@dataclass(frozen=True)
class Target:
    """Keep ``property`` within ``[low, high]`` (original units; ``low == high`` is a point)."""

    property: str
    low: float
    high: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.low + self.high)

    def __str__(self) -> str:
        return f"{self.property}={self.low:g}..{self.high:g}"

    def to_dict(self) -> dict:
        return {"property": self.property, "low": self.low, "high": self.high}


def parse_target(text: str) -> Target:
    """``"PROP=LO..HI"`` or ``"PROP=V+-TOL"`` -> :class:`Target` (raises :class:`TargetError`)."""
    name, sep, spec = str(text).partition("=")
    name = name.strip()
    if not sep or not name:
        raise TargetError(f"target {text!r}: write PROPERTY=LOW..HIGH or PROPERTY=VALUE+-TOL")
    if m := _RANGE.match(spec):
        low, high = float(m["low"]), float(m["high"])
    elif m := _TOLERANCE.match(spec):
        value, tol = float(m["value"]), float(m["tol"])
        if tol < 0:
            raise TargetError(f"target {text!r}: the tolerance must be >= 0")
        low, high = value - tol, value + tol
    else:
        raise TargetError(f"target {text!r}: cannot read {spec.strip()!r} as LOW..HIGH or "
                          "VALUE+-TOL")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise TargetError(f"target {text!r}: bounds must be finite numbers")
    if low > high:
        raise TargetError(f"target {text!r}: the range is empty ({low:g} > {high:g})")
    return Target(name, low, high)


def check_targets(
    targets: Iterable[Target | str],
    *,
    model_properties: Sequence[str],
    observed: dict[str, np.ndarray],
    transforms: dict[str, str],
) -> list[Target]:
    """Parse and validate targets; raise :class:`TargetError` naming every bad one.

    ``observed`` maps each property to the values measured in the data (original units); a
    range entirely outside what the data ever reached is refused, as is a property the model
    does not predict, a property named twice, or a range a log-transformed property cannot
    take (<= 0).
    """
    parsed, problems, seen = [], [], set()
    for t in targets:
        try:
            target = parse_target(t) if isinstance(t, str) else t
        except TargetError as err:
            problems.append(str(err))
            continue
        if target.low > target.high:
            problems.append(f"target {target}: the range is empty")
            continue
        if target.property not in model_properties:
            problems.append(f"target {target}: the model does not predict "
                            f"{target.property!r}; it predicts {sorted(model_properties)}")
            continue
        if target.property in seen:
            problems.append(f"target {target}: {target.property!r} is targeted twice")
            continue
        seen.add(target.property)
        values = np.asarray(observed.get(target.property, []), dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            problems.append(f"target {target}: the data has no measurement of "
                            f"{target.property!r} to judge the range by")
            continue
        lo, hi = float(values.min()), float(values.max())
        if target.high < lo or target.low > hi:
            problems.append(f"target {target}: the data never reached this range (measured "
                            f"{target.property} spans {lo:g}..{hi:g})")
            continue
        if transforms.get(target.property) == "log" and target.high <= 0:
            problems.append(f"target {target}: {target.property!r} is log-transformed and "
                            "only takes positive values")
            continue
        parsed.append(target)
    if not parsed and not problems:
        problems.append("no target given: name at least one with PROPERTY=LOW..HIGH")
    if problems:
        raise TargetError("bad target" + ("s" if len(problems) > 1 else "") + ":\n  "
                          + "\n  ".join(problems))
    return parsed
