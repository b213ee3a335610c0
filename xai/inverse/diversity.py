"""Choose a spread-out set of designs from everything a search scored, and measure its spread.

Candidates are taken in tiers, best first, and spread inside each tier by greedy max-min
distance in the composition space (each next design is the candidate farthest from every one
already chosen):

1. inside the shrunken target ranges the search aims for, no farther from the training data
   than the data's own spacing;
2. inside every target range, as close to the data;
3. inside every target range;
4. the rest, nearest to the targets first (so an infeasible problem returns its nearest
   designs, each with its distance to target, rather than nothing).

In counterfactual mode each tier first keeps only its candidates with the fewest changes that
still give ``n`` designs (fewest changes beats spread). A large tier is then cut to its
``3 n`` most trusted candidates (nearest the target centres and the training data) before the
spread is sought: a design the model is least likely to be wrong about beats an outlying one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xai.inverse.problem import DesignSpace, Evaluation

__all__ = ["Diversity", "diversity", "select_designs"]

POOL_FACTOR = 3  # spread is sought among the 3n most trusted candidates of a tier


@dataclass(frozen=True)
class Diversity:
    """Spread of a set of designs: mean pairwise composition distance (NaN for fewer than two)
    and the number of distinct ingredient sets."""

    mean_pairwise_distance: float
    distinct_ingredient_sets: int
    n_designs: int

    def to_dict(self) -> dict:
        return {"mean_pairwise_distance": self.mean_pairwise_distance,
                "distinct_ingredient_sets": self.distinct_ingredient_sets,
                "n_designs": self.n_designs}


def diversity(space: DesignSpace, x: np.ndarray) -> Diversity:
    x = np.atleast_2d(x)
    f = space.features(x) if len(x) else np.zeros((0, space.n_vars))
    if len(x) > 1:
        d = np.sqrt(np.clip(((f[:, None, :] - f[None, :, :]) ** 2).sum(-1), 0, None))
        mean = float(d[np.triu_indices(len(x), 1)].mean())
    else:
        mean = float("nan")
    sets = {tuple(np.flatnonzero(row > 0)) for row in x}
    return Diversity(mean, len(sets), len(x))


def select_designs(space: DesignSpace, x: np.ndarray, ev: Evaluation, n: int) -> np.ndarray:
    """Indices (up to ``n``) into ``x`` (N, V) of the designs to return, in the order chosen."""
    if len(x) == 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    unique = np.unique(np.round(x, 6), axis=0, return_index=True)[1]
    unique = np.sort(unique)
    near = ev.data_distance <= space.spacing
    inner = ev.search_distance <= 0
    meets = ev.meets
    tiers = [inner & near, meets & near, meets]
    feats = space.features(x)
    chosen: list[int] = []
    min_dist = np.full(len(x), np.inf)
    taken = np.zeros(len(x), dtype=bool)
    for tier in tiers:
        pool = unique[tier[unique] & ~taken[unique]]
        if space.start is not None and len(pool):
            pool = _fewest_changes(pool, ev.changes, n - len(chosen))
        pool = _most_trusted(space, pool, ev, POOL_FACTOR * (n - len(chosen)))
        while len(chosen) < n and len(pool):
            if not chosen:
                # first design: the one nearest the data among the best on the targets
                key = np.lexsort((ev.data_distance[pool], ev.search_distance[pool]))
                pick = pool[key[0]]
            else:
                pick = pool[np.argmax(min_dist[pool])]
            chosen.append(int(pick))
            taken[pick] = True
            step = np.sqrt(((feats - feats[pick]) ** 2).sum(1))
            min_dist = np.minimum(min_dist, step)
            pool = pool[pool != pick]
        if len(chosen) >= n:
            return np.array(chosen, dtype=np.int64)
    rest = unique[~taken[unique]]
    total = ev.target_distance[rest].sum(1)
    order = np.lexsort((ev.changes[rest], ev.data_distance[rest], total))
    chosen += rest[order[: n - len(chosen)]].tolist()
    return np.array(chosen, dtype=np.int64)


def _most_trusted(space: DesignSpace, pool: np.ndarray, ev: Evaluation, keep: int) -> np.ndarray:
    """The ``keep`` candidates of ``pool`` most likely to hold up off the model: nearest the
    target centres (in half-widths) plus nearest the data (in units of the data's spacing)."""
    if len(pool) <= keep:
        return pool
    spacing = space.spacing if space.spacing > 0 else 1.0
    score = ev.centrality[pool] + ev.data_distance[pool] / spacing
    return pool[np.argsort(score, kind="stable")[:keep]]


def _fewest_changes(pool: np.ndarray, changes: np.ndarray, wanted: int) -> np.ndarray:
    """The candidates of ``pool`` whose number of changes is at most the smallest count that
    still leaves ``wanted`` of them."""
    counts = np.floor(changes[pool])
    levels = np.sort(counts)
    cut = levels[min(wanted, len(levels)) - 1]
    return pool[counts <= cut]
