"""Sampled Shapley values by KernelSHAP: a weighted regression over coalitions.

The Shapley values of an n-player game are the solution of a least-squares problem over all
coalitions S (Lundberg & Lee 2017): minimise sum_S w(S) (v(S) - v(empty) - sum_{j in S} phi_j)^2
subject to sum_j phi_j = v(full) - v(empty), with the Shapley kernel
w(S) = (n - 1) / (C(n, |S|) |S| (n - |S|)). Enumerating every coalition gives the exact values;
a budget of coalitions estimates them:

- **complete strata** (the "border trick" of shap's KernelExplainer): coalition sizes are taken
  in complementary pairs (1 and n - 1, 2 and n - 2, ...), heaviest first, and a pair is
  enumerated whole when the budget's share of its kernel weight would draw at least as many
  coalitions as the pair holds;
- **paired sampling** of the remaining sizes (Covert & Lee 2021, "Improving KernelSHAP"): a
  size is drawn in proportion to its kernel weight, a coalition of that size uniformly, and
  with it its complement; each sampled coalition carries an equal share of the remaining
  weight.

The constrained solution makes every estimate efficient (the values add up to
v(full) - v(empty) exactly). Standard errors come from the spread of the estimates that
``GROUPS`` disjoint groups of the sampled pairs give with the complete strata (batch means);
they are 0 where every coalition is enumerated.

This is hand-written rather than taken from shapiq's ``KernelSHAP`` (which implements the same
estimator) because one model call here evaluates the coalitions of many recipes at once, and
shapiq's per-recipe sampling and bookkeeping took about four times as long as the model
evaluations themselves; ``tests/xai/attribution/test_kernel_shap.py`` checks it against
shapiq.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from math import comb

import numpy as np

from xai.attribution.coalitions import Game, to_slots

GROUPS = 8  # disjoint groups of sampled pairs behind a standard error


@dataclass
class KernelEstimate:
    """One case: v(empty), v(full), the complete strata and the sampled coalitions so far."""

    n: int
    empty: float
    full: float
    complete: np.ndarray  # (E, n) bool, enumerated coalitions
    complete_weights: np.ndarray  # (E,)
    complete_values: np.ndarray  # (E,)
    remaining_weight: float  # kernel weight of the sizes that are sampled
    sizes: np.ndarray  # sampled sizes
    sampled: list[np.ndarray] = field(default_factory=list)  # (P, n) bool, pairs adjacent
    sampled_values: list[np.ndarray] = field(default_factory=list)

    @property
    def coalitions(self) -> int:
        """Coalitions evaluated, v(empty) and v(full) included."""
        return 2 + len(self.complete) + sum(len(s) for s in self.sampled)

    @property
    def values(self) -> np.ndarray:
        return self._solve(self._samples())

    @property
    def std_errors(self) -> np.ndarray:
        z, v = self._samples()
        pairs = len(z) // 2
        if pairs == 0:
            return np.zeros(self.n)
        if pairs < 2:
            return np.full(self.n, np.nan)
        groups = min(GROUPS, pairs)
        which = np.repeat(np.arange(pairs) % groups, 2)
        estimates = np.stack([self._solve((z[which == g], v[which == g]))
                              for g in range(groups)])
        return estimates.std(0, ddof=1) / np.sqrt(groups)

    def _samples(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.sampled:
            return np.zeros((0, self.n), bool), np.zeros(0)
        return np.concatenate(self.sampled), np.concatenate(self.sampled_values)

    def _solve(self, samples: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        if self.n <= 1:
            return np.full(self.n, self.full - self.empty)
        z_s, v_s = samples
        z = np.concatenate([self.complete, z_s]).astype(np.float64)
        w = np.concatenate([self.complete_weights,
                            np.full(len(z_s), self.remaining_weight / max(len(z_s), 1))])
        y = np.concatenate([self.complete_values, v_s]) - self.empty
        a = (z * w[:, None]).T @ z
        b = (z * w[:, None]).T @ y
        ones = np.ones(self.n)
        solved = np.linalg.lstsq(a, np.stack([b, ones], 1), rcond=None)[0]
        a_b, a_1 = solved[:, 0], solved[:, 1]
        if not a_1.sum() > 0:  # no coalition informs the regression: share out evenly
            return np.full(self.n, (self.full - self.empty) / self.n)
        return a_b - a_1 * (a_b.sum() - (self.full - self.empty)) / a_1.sum()


def size_weights(n: int) -> np.ndarray:
    """(n + 1,) total Shapley-kernel weight of each coalition size (0 for the empty and full
    coalitions, which the constraint handles)."""
    k = np.arange(n + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = (n - 1) / (k * (n - k))
    out[[0, n]] = 0.0
    return out


def plan_strata(n: int, budget: int) -> tuple[list[int], list[int]]:
    """Coalition sizes enumerated whole and sizes sampled, for ``budget`` interior coalitions
    (the border trick: complementary size pairs, heaviest first, while the budget's share of a
    pair's weight covers all its coalitions)."""
    weights = size_weights(n)
    left_weight = weights.sum()
    complete: list[int] = []
    remaining = budget
    for k in range(1, n // 2 + 1):
        pair = [k] if 2 * k == n else [k, n - k]
        count = sum(comb(n, s) for s in pair)
        share = sum(weights[s] for s in pair) / left_weight if left_weight > 0 else 0.0
        if count > remaining or remaining * share < count:
            break
        complete += pair
        remaining -= count
        left_weight -= sum(weights[s] for s in pair)
    sampled = [k for k in range(1, n) if k not in complete]
    return sorted(complete), sampled


def kernel_estimates(
    game: Game,
    slots: Sequence[np.ndarray],
    rows: Sequence[int],
    width: int,
    budget: Callable[[int], int],
    rngs: dict[int, np.random.Generator],
    batch_size: int,
    on_done: Callable[[int], None],
    *,
    more: dict[int, KernelEstimate] | None = None,
) -> dict[int, KernelEstimate]:
    """KernelSHAP estimates for ``rows``, a row of n players with ``budget(n)`` interior
    coalitions (rounded down to whole complementary pairs), row r's samples drawn from
    ``rngs[r]``. With ``more``, the rows' earlier estimates gain ``budget(n)`` further sampled
    coalitions instead (their complete strata and ends are kept)."""
    out: dict[int, KernelEstimate] = {}
    pending: list[tuple[int, KernelEstimate | None, np.ndarray]] = []
    pending_size = 0

    def flush() -> None:
        nonlocal pending, pending_size
        if not pending:
            return
        blocks = [to_slots(slots[r], members, width) for r, _, members in pending]
        index = np.concatenate([np.full(len(b), r, dtype=np.int64)
                                for b, (r, _, _) in zip(blocks, pending, strict=True)])
        v = game(index, np.concatenate(blocks)) if len(index) else np.zeros(0)
        start = 0
        for (r, earlier, members), block in zip(pending, blocks, strict=True):
            part, start = v[start:start + len(block)], start + len(block)
            out[r] = _record(earlier, members, part, budget(len(slots[r])))
        on_done(len(pending))
        pending, pending_size = [], 0

    for r in rows:
        n = len(slots[r])
        earlier = (more or {}).get(r)
        if earlier is None:
            complete, sampled = plan_strata(n, budget(n))
            members = np.concatenate([np.zeros((1, n), bool), np.ones((1, n), bool),
                                      _enumerate(n, complete),
                                      _draw_pairs(n, sampled, budget(n) - sum(
                                          comb(n, k) for k in complete), rngs[int(r)])])
        else:
            members = _draw_pairs(n, list(earlier.sizes), budget(n), rngs[int(r)])
        pending.append((r, earlier, members))
        pending_size += len(members)
        if pending_size >= 4 * batch_size:
            flush()
    flush()
    return out


def _enumerate(n: int, sizes: list[int]) -> np.ndarray:
    """(C, n) bool: every coalition of the given sizes (without building all 2^n)."""
    rows = [list(c) for k in sizes for c in combinations(range(n), k)]
    out = np.zeros((len(rows), n), dtype=bool)
    for i, members in enumerate(rows):
        out[i, members] = True
    return out


def _draw_pairs(n: int, sizes: list[int], budget: int, rng: np.random.Generator) -> np.ndarray:
    """``budget // 2`` coalitions of the ``sizes``, each followed by its complement."""
    pairs = budget // 2
    if pairs <= 0 or not sizes:
        return np.zeros((0, n), bool)
    weights = size_weights(n)[sizes]
    k = rng.choice(sizes, size=pairs, p=weights / weights.sum())
    ranks = rng.random((pairs, n)).argsort(1).argsort(1)
    first = ranks < k[:, None]
    return np.stack([first, ~first], 1).reshape(-1, n)


def _record(earlier: KernelEstimate | None, members: np.ndarray, v: np.ndarray,
            budget: int) -> KernelEstimate:
    n = members.shape[1]
    if earlier is not None:
        return replace(earlier, sampled=[*earlier.sampled, members],
                       sampled_values=[*earlier.sampled_values, v])
    sizes_of = members.sum(1)
    complete, sampled = plan_strata(n, budget)
    n_complete = int(np.isin(sizes_of[2:], complete).sum()) if complete else 0
    complete_rows = slice(2, 2 + n_complete)
    per_coalition = size_weights(n) / np.array([comb(n, k) for k in range(n + 1)])
    weights = size_weights(n)
    estimate = KernelEstimate(
        n=n, empty=float(v[0]), full=float(v[1]),
        complete=members[complete_rows], complete_values=v[complete_rows],
        complete_weights=per_coalition[sizes_of[complete_rows]],
        remaining_weight=float(weights[sampled].sum()) if sampled else 0.0,
        sizes=np.asarray(sampled, dtype=np.int64))
    if len(members) > 2 + n_complete:
        estimate.sampled.append(members[2 + n_complete:])
        estimate.sampled_values.append(v[2 + n_complete:])
    return estimate


__all__ = ["KernelEstimate", "kernel_estimates", "plan_strata", "size_weights"]
