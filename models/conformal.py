"""Prediction intervals: split-conformal for a single model, cross-validation residuals for a
cross-fitted ensemble.

Residuals are taken in each property's standardised model units (after the log transform where
one applies), so an interval of a log-transformed property is symmetric in log units and
asymmetric in original units. Per property:

- **split**: the absolute residuals of the validation recipes (not used to fit the weights)
  give the interval ``prediction +- q``, q the ceil((n + 1)(1 - alpha)) / n quantile
  (Vovk et al. 2005; Lei et al. 2018).
- **cv** (an ensemble's default): every recipe's out-of-fold residual R_i, from the member that
  did not see it, gives ``mean(x) +- q``, ``mean`` the members' mean and q the
  ceil((n + 1)(1 - alpha)) / n quantile of the R_i (the "CV" interval of Barber et al. 2021,
  centred on the prediction the user is given).
- **cv+**: for a new recipe the interval runs from the floor(alpha (n + 1))-th smallest of
  ``mu_m(i)(x) - R_i`` to the ceil((1 - alpha)(n + 1))-th smallest of ``mu_m(i)(x) + R_i``
  (Barber et al. 2021, "Predictive inference with the jackknife+"). Its guarantee (at least
  1 - 2 alpha) holds for any model, but with members that disagree it adds their spread on
  top of residuals that already hold a single member's error: on the real sets of
  BENCHMARKS.md it covered 3 to 7 points above nominal, where ``cv`` came within 3.

With too few residuals for the coverage asked (n < 1/alpha - 1) the interval is unbounded
(``-inf, inf``), which the JSON writers turn into null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_COVERAGE = 0.9
CONFORMAL_FILE = "conformal.json"


@dataclass(frozen=True)
class Conformal:
    """Calibration residuals per property; ``members[p][i]`` is the ensemble member behind
    residual i (cv and cv+)."""

    method: str
    residuals: dict[str, np.ndarray]
    members: dict[str, np.ndarray] | None = None
    coverage: float = DEFAULT_COVERAGE

    def interval_z(self, prop: str, z: np.ndarray, member_z: np.ndarray | None = None,
                   *, coverage: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) in standardised units for predictions ``z`` (N,) of property ``prop``;
        cv+ needs ``member_z`` (K, N), the members' predictions."""
        alpha = 1.0 - (coverage or self.coverage)
        r = self.residuals.get(prop, np.zeros(0))
        n = len(r)
        z = np.asarray(z, dtype=np.float64)
        if n == 0 or math.ceil((1 - alpha) * (n + 1)) > n:
            return np.full_like(z, -np.inf), np.full_like(z, np.inf)
        if self.method != "cv+" or member_z is None or self.members is None:
            q = np.sort(r)[math.ceil((1 - alpha) * (n + 1)) - 1]
            return z - q, z + q
        mu = np.asarray(member_z, dtype=np.float64)[self.members[prop]]  # (n, N)
        low = np.sort(mu - r[:, None], axis=0)
        high = np.sort(mu + r[:, None], axis=0)
        k_low = max(math.floor(alpha * (n + 1)), 1) - 1
        k_high = math.ceil((1 - alpha) * (n + 1)) - 1
        return low[k_low], high[k_high]

    def to_dict(self) -> dict:
        return {"method": self.method, "coverage": self.coverage,
                "residuals": {p: r.tolist() for p, r in self.residuals.items()},
                "members": None if self.members is None else
                {p: m.tolist() for p, m in self.members.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> Conformal:
        members = d.get("members")
        return cls(str(d["method"]),
                   {p: np.asarray(r, dtype=np.float64) for p, r in d["residuals"].items()},
                   None if members is None else
                   {p: np.asarray(m, dtype=np.int64) for p, m in members.items()},
                   float(d.get("coverage", DEFAULT_COVERAGE)))


def split_conformal(properties: Sequence[str], z_true: np.ndarray, z_pred: np.ndarray, *,
                    coverage: float = DEFAULT_COVERAGE) -> Conformal:
    """Calibrate on held-out rows: ``properties[i]``, standardised truth and prediction."""
    props = np.asarray(properties, dtype=object)
    r = np.abs(np.asarray(z_true, dtype=np.float64) - np.asarray(z_pred, dtype=np.float64))
    return Conformal("split", {str(p): r[props == p] for p in sorted(set(props))},
                     coverage=coverage)


def cross_validation(oof: pd.DataFrame, *, coverage: float = DEFAULT_COVERAGE,
                     plus: bool = False) -> Conformal:
    """Calibrate on out-of-fold rows (``property, member, z_value, z_prediction``): intervals
    around the members' mean (``cv``), or CV+ with ``plus``."""
    residuals, members = {}, {}
    for prop, rows in oof.groupby("property", sort=True):
        residuals[str(prop)] = np.abs(rows["z_value"].to_numpy(np.float64)
                                      - rows["z_prediction"].to_numpy(np.float64))
        members[str(prop)] = rows["member"].to_numpy(np.int64)
    return Conformal("cv+" if plus else "cv", residuals, members, coverage)


def coverage_table(properties: Sequence[str], y: np.ndarray, lower: np.ndarray,
                   upper: np.ndarray, nominal: float) -> dict:
    """Empirical coverage per property and over all rows: the share of ``y`` inside
    [lower, upper], with n and the median interval width."""
    props = np.asarray(properties, dtype=object)
    y, lower, upper = (np.asarray(a, dtype=np.float64) for a in (y, lower, upper))
    inside = (y >= lower) & (y <= upper)
    width = upper - lower
    out: dict = {"nominal": nominal, "properties": {}}
    for p in sorted(set(props)):
        here = props == p
        out["properties"][str(p)] = {"n": int(here.sum()), "coverage": float(inside[here].mean()),
                                     "median_width": float(np.median(width[here]))}
    out["overall"] = {"n": int(len(y)), "coverage": float(inside.mean()) if len(y) else None}
    return out


def cross_fitted_coverage(oof: pd.DataFrame, *, coverage: float = DEFAULT_COVERAGE) -> dict:
    """Honest coverage of cross-validation intervals: each member's held-out rows are covered
    by intervals calibrated on the other members' out-of-fold residuals only (standardised
    units)."""
    lows, highs, ys, props = [], [], [], []
    for m in sorted(oof["member"].unique()):
        held = oof[oof["member"] == m]
        calib = split_conformal(*(oof.loc[oof["member"] != m, c]
                                  for c in ("property", "z_value", "z_prediction")),
                                coverage=coverage)
        for prop, rows in held.groupby("property"):
            lo, hi = calib.interval_z(str(prop), rows["z_prediction"].to_numpy())
            lows.append(lo)
            highs.append(hi)
            ys.append(rows["z_value"].to_numpy())
            props += [str(prop)] * len(rows)
    cat = (np.concatenate(a) if a else np.zeros(0) for a in (ys, lows, highs))
    return coverage_table(props, *cat, nominal=coverage)
