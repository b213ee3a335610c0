"""The evidence that comes with each design.

- the model's prediction of every property with its interval and applicability flags, as
  ``xai predict`` states them (:mod:`xai.inverse.trust`), and the distance to each target
  (standardised units, 0 inside);
- the nearest training recipes (ids and composition distances);
- in counterfactual mode, the Shapley attribution of the change from the start recipe: the
  players are the changed ingredients (the balance ingredient is not a player: it takes up what
  the others leave, as under ``balance`` absence in ``xai explain``), the value of a coalition is
  the model's prediction with only that coalition's changes applied, in standardised units.
  Up to ``EXACT_MAX`` players it is enumerated exactly; beyond, estimated from random
  permutations;
- on synthetic data (a dataset with truth.json), the true noise-free value of every targeted
  property from ``models.synth``'s oracle and whether each target is met under the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xai.attribution.shapley import exact_shapley
from xai.inverse.problem import DesignSpace
from xai.inverse.scoring import Scorer

__all__ = ["EXACT_MAX", "change_players", "change_shapley", "coalition_recipes",
           "truth_values"]

EXACT_MAX = 10
PERMUTATIONS = 64


def change_players(space: DesignSpace, x: np.ndarray) -> np.ndarray:
    """Indices of the ingredients whose change from the start recipe is a player."""
    changed = space.changed(x[None, :])[0]
    if space.balance is not None:
        changed[space.balance] = False
    return np.flatnonzero(changed)


def coalition_recipes(space: DesignSpace, x: np.ndarray, players: np.ndarray,
                      coalitions: np.ndarray) -> np.ndarray:
    """(C, V) recipes: the start recipe with the changes of ``players`` in each row of
    ``coalitions`` (C, k) bool applied; the balance ingredient takes up the rest."""
    out = np.repeat(space.start[None, :], len(coalitions), 0)
    for i, j in enumerate(players):
        on = coalitions[:, i]
        out[on, j] = x[j]
    if space.balance is not None:
        b = space.balance
        out[:, b] = 0.0
        out[:, b] = np.clip(space.total - out.sum(1), 0, None)
    return out


def change_shapley(scorer: Scorer, x: np.ndarray, *, seed: int = 0) -> dict:
    """Shapley values of the change from the start recipe to ``x`` (V,), per target property.

    Returns ``players`` (ingredient codes), ``values`` (P, k) in standardised units,
    ``start`` and ``design`` predictions (P,) (values sum to design - start), ``exact``.
    """
    space = scorer.space
    players = change_players(space, x)
    k = len(players)
    if k <= EXACT_MAX:
        masks = ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)
        v = scorer.predict_z(coalition_recipes(space, x, players, masks))  # (2^k, P)
        values = np.stack([exact_shapley(v[:, p], k) for p in range(v.shape[1])])
        start, design = v[0], v[-1]
        exact = True
    else:
        rng = np.random.default_rng(seed)
        orders = np.stack([rng.permutation(k) for _ in range(PERMUTATIONS)])
        steps = np.zeros((PERMUTATIONS, k + 1, k), dtype=bool)
        for r, order in enumerate(orders):
            for s in range(1, k + 1):
                steps[r, s, order[:s]] = True
        v = scorer.predict_z(coalition_recipes(space, x, players, steps.reshape(-1, k)))
        v = v.reshape(PERMUTATIONS, k + 1, -1)  # (R, k + 1, P)
        gains = np.diff(v, axis=1)  # (R, k, P): gain of the s-th player in each order
        values = np.zeros((v.shape[2], k))
        for r, order in enumerate(orders):
            values[:, order] += gains[r].T
        values /= PERMUTATIONS
        start, design = v[0, 0], v[0, -1]
        exact = False
    return {"players": [space.codes[j] for j in players], "values": values,
            "start": start, "design": design, "exact": exact}


def truth_values(truth: dict, space: DesignSpace, x: np.ndarray,
                 properties: Sequence[str]) -> np.ndarray | None:
    """(N, P) noise-free values from truth.json's oracle, or None where it cannot score them."""
    if not truth or not all(p in truth.get("properties", {}) for p in properties):
        return None
    from models.synth_properties import predict_dense

    codes = sorted(truth["families"])
    where = {c: i for i, c in enumerate(codes)}
    x = np.atleast_2d(x)
    dense = np.zeros((len(x), len(codes)))
    for j, c in enumerate(space.codes):
        if c in where:
            dense[:, where[c]] += x[:, j]
    return np.column_stack([predict_dense(truth, codes, dense, p) for p in properties])

