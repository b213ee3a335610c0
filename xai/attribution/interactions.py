"""Pairwise Shapley interaction values: which pairs of ingredients act together.

Convention (Lundberg et al. 2020, "SHAP interaction values"): off the diagonal,

    values[i, j] = sum over S not holding i, j of |S|! (n - |S| - 2)! / (2 (n - 1)!)
                   * [v(S + i + j) - v(S + i) - v(S + j) + v(S)],

which is half of Grabisch's Shapley interaction index, shared equally between (i, j) and (j, i):
the whole interaction of a pair is ``values[i, j] + values[j, i]``. The diagonal holds the main
effect, ``values[i, i] = phi_i - sum_{j != i} values[i, j]``, so each row sums to the ingredient's
Shapley value and the matrix sums to f(recipe) - f(no player present).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from xai.absence import Absence
from xai.results import CaseResults

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Interactions(CaseResults):
    """Pairwise interaction values for N cases, in the model's standardised output units.

    ``values`` (N, T, T) is aligned with the cases' slots on both axes, symmetric, NaN for padding,
    non-players and cases with more players than the enumeration allowed (see the module
    docstring for the convention). ``prediction`` is f(recipe), ``baseline`` f(no player
    present), both NaN for cases that were not enumerated. Per case, ``n_players`` (N,) counts
    the players and ``enumerated`` (N,) marks the cases whose values were computed; ``settings``
    holds the parameters.
    """

    values: np.ndarray
    absence: Absence = Absence.removed()
    prediction: np.ndarray | None = None
    baseline: np.ndarray | None = None
    settings: dict = field(default_factory=dict)
    n_players: np.ndarray | None = None
    enumerated: np.ndarray | None = None

    _per_case: ClassVar[dict[str, tuple[int, ...]]] = {
        "values": (1, 2), "prediction": (), "baseline": (), "n_players": (), "enumerated": ()}

    def top_pairs(self, i: int, k: int = 5) -> list[tuple[str, str, float]]:
        """Case i's ``k`` strongest pairs as (ingredient_a, ingredient_b, values[i, a, b]),
        largest magnitude first; empty when the case was not enumerated."""
        names = self.ingredients[i]
        block = self.values[i, : len(names), : len(names)]
        a, b = np.triu_indices(len(names), k=1)
        pair = block[a, b]
        keep = np.flatnonzero(~np.isnan(pair))
        keep = keep[np.argsort(-np.abs(pair[keep]), kind="stable")][:k]
        return [(names[a[j]], names[b[j]], float(pair[j])) for j in keep]

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per case x pair of its ingredients (a < b in slot order), with
        ``interaction`` = values[i, a, b] + values[i, b, a] (the pair's whole Shapley
        interaction index) and the two main effects on the diagonal. Cases that were not
        enumerated have NaN values."""
        import pandas as pd

        records = []
        for i, names in enumerate(self.ingredients):
            block = self.values[i]
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    records.append((self.formulation_ids[i], self.properties[i], names[a],
                                    names[b], float(block[a, b] + block[b, a]),
                                    float(block[a, a]), float(block[b, b])))
        return pd.DataFrame.from_records(records, columns=[
            "formulation_id", "property", "ingredient_a", "ingredient_b", "interaction",
            "main_effect_a", "main_effect_b"])


def interaction_matrix(v: np.ndarray, n: int, phi: np.ndarray) -> np.ndarray:
    """(n, n) interaction values of one case from v over all 2^n subsets (bit j = player j) and
    its Shapley values ``phi`` (n,)."""
    out = np.zeros((n, n))
    if n < 2:
        out[np.arange(n), np.arange(n)] = phi
        return out
    s = np.arange(2**n, dtype=np.int64)
    sizes = np.bitwise_count(s)
    weights = np.array([1.0 / (2 * (n - 1) * comb(n - 2, k)) for k in range(n - 1)])
    for i in range(n):
        for j in range(i + 1, n):
            rest = s[((s >> i) & 1 == 0) & ((s >> j) & 1 == 0)]  # subsets holding neither
            bi, bj = 1 << i, 1 << j
            delta = v[rest | bi | bj] - v[rest | bi] - v[rest | bj] + v[rest]
            out[i, j] = out[j, i] = np.dot(weights[sizes[rest]], delta)
    out[np.arange(n), np.arange(n)] = phi - out.sum(1)  # the diagonal is still zero here
    return out
