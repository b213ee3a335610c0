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

import numpy as np

from xai.attribution.absence import Absence


@dataclass(frozen=True)
class Interactions:
    """Pairwise interaction values for N cases, in the model's standardised output units.

    ``values`` (N, T, T) is aligned with the cases' slots on both axes, symmetric, NaN for padding,
    non-players and cases with more players than the enumeration allowed (see the module
    docstring for the convention). ``prediction`` is f(recipe), ``baseline`` f(no player
    present), both NaN for cases that were not enumerated.
    """

    formulation_ids: tuple[str, ...]
    properties: tuple[str, ...]
    ingredients: tuple[tuple[str, ...], ...]
    values: np.ndarray
    absence: Absence = Absence.removed()
    prediction: np.ndarray | None = None
    baseline: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.formulation_ids)

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
