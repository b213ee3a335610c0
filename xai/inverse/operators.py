"""Recipe-aware variation: sampling, crossover, mutation and the repair that keeps recipes valid.

The functions work on (N, V) amount matrices over a :class:`~xai.inverse.problem.DesignSpace`
and take a ``numpy.random.Generator``; ``xai.inverse.search`` wraps them as pymoo operators, and
random search and TPE reuse :func:`sample` and :func:`repair`, so every method sees the same
encoding and the same notion of a valid recipe.

- **crossover** exchanges ingredient subsets between two parents: either whole expert groups
  (the oil phase of one with the thickener system of the other) or a random subset of the
  ingredients either parent holds;
- **mutation** adds an ingredient, removes one, swaps one for another of its expert group, or
  rescales one amount (1 to 3 such steps);
- **repair** snaps amounts into their ranges, enforces fixed and banned ingredients and the
  ingredient count, makes the recipe sum to its total (the balance ingredient takes up the
  rest where there is one) and, in counterfactual mode, reverts the smallest changes until at
  most ``max_changes`` ingredients differ from the start recipe.
"""

from __future__ import annotations

import numpy as np

from xai.inverse.problem import DECIMALS, DesignSpace
from xai.inverse.targets import DesignError

__all__ = ["crossover", "mutate", "repair", "repair_one", "sample"]

MUTATIONS = ("add", "remove", "swap", "rescale")


# -- sampling ---------------------------------------------------------------------------------

def sample(space: DesignSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` repaired recipes: mutated start recipes in counterfactual mode, else training
    recipes, a third of them crossed with another training recipe, mutated 0 to 3 times."""
    if space.start is not None:
        x = np.repeat(space.start[None, :], n, axis=0)
        steps = rng.integers(1, 3, size=n)
    else:
        m = len(space.training)
        x = space.training[rng.integers(0, m, size=n)].copy()
        cross = np.flatnonzero(rng.random(n) < 1 / 3)
        if len(cross):
            partners = space.training[rng.integers(0, m, size=len(cross))]
            for row, other in zip(cross, partners, strict=True):
                x[row] = _cross_pair(space, x[row], other, rng)[0]
        steps = rng.integers(0, 4, size=n)
    for row in range(n):
        for _ in range(steps[row]):
            _mutate_row(space, x[row], rng)
    return repair(space, x, rng)


# -- crossover --------------------------------------------------------------------------------

def crossover(space: DesignSpace, a: np.ndarray, b: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two children (N, V) of parents ``a`` / ``b`` (N, V), exchanging ingredient subsets."""
    c, d = a.copy(), b.copy()
    for row in range(len(a)):
        c[row], d[row] = _cross_pair(space, a[row], b[row], rng)
    return c, d


def _cross_pair(space: DesignSpace, a: np.ndarray, b: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    held = (a > 0) | (b > 0)
    if space.balance is not None:
        held[space.balance] = False
    held &= ~space.fixed
    if rng.random() < 0.5:
        groups = np.unique(space.group[held])
        chosen = groups[rng.random(len(groups)) < 0.5]
        swap = held & np.isin(space.group, chosen)
    else:
        swap = held & (rng.random(len(a)) < 0.5)
    c, d = a.copy(), b.copy()
    c[swap], d[swap] = b[swap], a[swap]
    return c, d


# -- mutation ---------------------------------------------------------------------------------

def mutate(space: DesignSpace, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mutated copy of ``x`` (N, V): each row gets 1 to 3 random steps."""
    x = np.array(x, dtype=np.float64, copy=True)
    steps = 1 + rng.binomial(2, 0.25, size=len(x))
    for row in range(len(x)):
        for _ in range(steps[row]):
            _mutate_row(space, x[row], rng)
    return x


def _mutate_row(space: DesignSpace, x: np.ndarray, rng: np.random.Generator) -> None:
    """One mutation step on ``x`` (V,), in place."""
    movable = (x > 0) & ~space.fixed
    if space.balance is not None:
        movable[space.balance] = False
    movable = np.flatnonzero(movable)
    kind = MUTATIONS[rng.integers(len(MUTATIONS))]
    if kind == "add" or len(movable) == 0:
        j = _pick_absent(space, x, rng)
        if j is not None:
            x[j] = _log_uniform(space.low[j], space.high[j], rng)
        return
    j = movable[rng.integers(len(movable))]
    if kind == "remove":
        x[j] = 0.0
    elif kind == "swap":
        k = _pick_absent(space, x, rng, group=space.group[j]) if space.group[j] >= 0 else None
        if k is not None:
            x[k] = float(np.clip(x[j], space.low[k], space.high[k]))
            x[j] = 0.0
        else:
            x[j] *= float(np.exp(rng.normal(0.0, 0.5)))
    else:
        x[j] *= float(np.exp(rng.normal(0.0, 0.5)))


def _pick_absent(space: DesignSpace, x: np.ndarray, rng: np.random.Generator,
                 group: int | None = None) -> int | None:
    """A random absent, usable ingredient (of ``group`` if given), drawn by training frequency."""
    ok = (x <= 0) & ~space.banned & ~space.fixed
    if space.balance is not None:
        ok[space.balance] = False
    if group is not None:
        ok &= space.group == group
    candidates = np.flatnonzero(ok)
    if len(candidates) == 0:
        return None
    w = space.frequency[candidates].astype(np.float64) + 1.0
    return int(rng.choice(candidates, p=w / w.sum()))


def _log_uniform(low: float, high: float, rng: np.random.Generator) -> float:
    low = max(low, 10.0 ** -DECIMALS)
    if high <= low:
        return float(high)
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


# -- repair -----------------------------------------------------------------------------------

def repair(space: DesignSpace, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Valid recipes (N, V) nearest in spirit to ``x`` (N, V); see :func:`repair_one`."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return np.stack([repair_one(space, row, rng) for row in x]) if len(x) else x.copy()


def repair_one(space: DesignSpace, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A valid recipe (V,) from any vector ``x`` (V,).

    Steps: non-finite and negative amounts become 0, banned ingredients go, amounts under half
    their smallest training amount go and others are clipped into their range, fixed amounts
    are set, the smallest ingredients go while there are more than ``max_ingredients``, the
    free amounts are moved inside their ranges until the recipe sums to its total with the
    balance ingredient inside its own range (ingredients are dropped or added only where the
    ranges leave no other way), amounts are rounded to 4 decimals and, in counterfactual mode,
    the smallest changes are reverted to the start recipe until at most ``max_changes``
    ingredients differ. Falls back to the start recipe (counterfactual mode) or the nearest
    valid training recipe when nothing else works.
    """
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    x = np.clip(x, 0.0, None)
    x[space.banned] = 0.0
    low, high = space.low, space.high
    tiny = (x > 0) & (x < low)
    x[tiny & (x < 0.5 * low)] = 0.0
    x = np.where(x > 0, np.clip(x, low, high), 0.0)
    x[space.fixed] = space.fixed_amount[space.fixed]
    b = space.balance
    if b is not None:
        x[b] = 0.0
    _limit_count(space, x)
    if not _fit_sum(space, x, rng):
        return _fallback(space, rng)
    _round(space, x)
    if space.start is not None and space.max_changes is not None:
        x = _limit_changes(space, x)
    return x


def _free(space: DesignSpace, x: np.ndarray) -> np.ndarray:
    """Indices of present ingredients whose amount repair may move."""
    free = (x > 0) & ~space.fixed
    if space.balance is not None:
        free[space.balance] = False
    return np.flatnonzero(free)


def _limit_count(space: DesignSpace, x: np.ndarray) -> None:
    limit = space.max_ingredients - (space.balance is not None)
    others = x > 0
    if space.balance is not None:
        others[space.balance] = False
    extra = int(others.sum()) - limit
    if extra > 0:
        free = _free(space, x)
        drop = free[np.argsort(x[free], kind="stable")[:extra]]
        x[drop] = 0.0


def _sum_window(space: DesignSpace) -> tuple[float, float]:
    """Range the non-balance ingredients must sum into."""
    if space.balance is None:
        return space.total, space.total
    b = space.balance
    return space.total - space.high[b], space.total - space.low[b]


def _fit_sum(space: DesignSpace, x: np.ndarray, rng: np.random.Generator) -> bool:
    """Move free amounts (in place) so the non-balance ingredients sum into their window, then
    set the balance ingredient; False when no way was found."""
    lo, hi = _sum_window(space)
    b = space.balance
    for _ in range(space.max_ingredients + 2):
        others = x.sum() - (x[b] if b is not None else 0.0)
        free = _free(space, x)
        if others > hi + 1e-12:
            slack = x[free] - space.low[free]
            need = others - hi
            if slack.sum() >= need:
                x[free] -= need * slack / slack.sum()
                continue
            if len(free) == 0:
                return False
            x[free] = space.low[free]
            x[free[np.argmax(space.low[free])]] = 0.0  # drop the one that frees the most
            continue
        if others < lo - 1e-12:
            room = space.high[free] - x[free]
            need = lo - others
            if room.sum() >= need:
                x[free] += need * room / room.sum()
                continue
            x[free] = space.high[free]
            count = int((x > 0).sum()) - (b is not None and x[b] > 0)
            j = _pick_absent(space, x, rng) if count < space.max_ingredients - (b is not None) \
                else None
            if j is None:
                return False
            x[j] = space.low[j]
            continue
        if b is not None:
            x[b] = space.total - others
        return True
    return False


def _round(space: DesignSpace, x: np.ndarray) -> None:
    """Round to ``DECIMALS``; the balance (or the largest free amount) takes up the residue."""
    b = space.balance
    keep = b if b is not None else None
    if keep is None:
        free = _free(space, x)
        keep = int(free[np.argmax(x[free])]) if len(free) else None
    x[:] = np.round(x, DECIMALS)
    if keep is not None:
        x[keep] = round(space.total - (x.sum() - x[keep]), DECIMALS)
    x[space.fixed] = space.fixed_amount[space.fixed]


def _limit_changes(space: DesignSpace, x: np.ndarray) -> np.ndarray:
    """Revert the smallest changes to the start recipe until at most ``max_changes`` remain
    and the balance ingredient is back inside its range."""
    s, b, k = space.start, space.balance, space.max_changes
    tol = space.tolerance
    x = x.copy()
    for _ in range(space.n_vars + 1):
        changed = np.abs(x - s) > tol
        balance_ok = b is None or (space.low[b] - tol <= x[b] <= space.high[b] + tol)
        if changed.sum() <= k and balance_ok and abs(x.sum() - space.total) <= 1e-6 * space.total:
            return x
        revertable = changed & ~space.fixed & ~(space.banned & (s > 0))
        if b is not None:
            revertable[b] = False
        idx = np.flatnonzero(revertable)
        if len(idx) == 0:
            break
        size = np.abs(x[idx] - s[idx]) / np.maximum(space.high[idx], tol)
        j = idx[np.argmin(size)]
        x[j] = s[j]
        if b is not None:
            x[b] = round(space.total - (x.sum() - x[b]), DECIMALS)
        else:
            _absorb(space, x, s)
    return _start_fallback(space)


def _absorb(space: DesignSpace, x: np.ndarray, s: np.ndarray) -> None:
    """Without a balance ingredient, put the sum residue on a changed free ingredient that has
    room for it (keeps the number of changes), else revert everything still changed."""
    residue = space.total - x.sum()
    if abs(residue) <= 1e-9:
        return
    changed = np.flatnonzero((np.abs(x - s) > space.tolerance) & (x > 0) & ~space.fixed)
    for j in changed[np.argsort(-x[changed])]:
        new = x[j] + residue
        if space.low[j] <= new <= space.high[j]:
            x[j] = round(new, DECIMALS)
            return
    x[:] = _start_fallback(space)


def _start_fallback(space: DesignSpace) -> np.ndarray:
    """The start recipe with banned ingredients dropped and fixed ones set, rebalanced."""
    x = space.start.copy()
    x[space.banned] = 0.0
    x[space.fixed] = space.fixed_amount[space.fixed]
    b = space.balance
    if b is not None:
        x[b] = round(space.total - (x.sum() - x[b]), DECIMALS)
    return x


def _fallback(space: DesignSpace, rng: np.random.Generator) -> np.ndarray:
    if space.start is not None:
        return _start_fallback(space)
    # a training recipe, repaired without a fallback of its own (tried a few times)
    for _ in range(20):
        x = space.training[rng.integers(len(space.training))].copy()
        x[space.banned] = 0.0
        x[space.fixed] = space.fixed_amount[space.fixed]
        if space.balance is not None:
            x[space.balance] = 0.0
        _limit_count(space, x)
        if _fit_sum(space, x, rng):
            _round(space, x)
            return x
    raise DesignError("no valid recipe found: the fixed, allowed and forbidden ingredients and "
                     "the training ranges leave no recipe that sums to the total")
