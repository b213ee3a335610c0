"""Shapley values of the ingredients present in a recipe, and their pairwise interactions.

The players of a case are its ingredients (minus the balance ingredient under ``balance``
absence, see ``xai.absence``); the value of a coalition is the model output with the
other players absent, in the property's standardised model units. Recipes with at most ``exact_max``
players are enumerated exactly (all 2^n coalitions, weighted sum over subsets); larger ones are
estimated from antithetic pairs of random permutations, with a standard error per ingredient.
Both satisfy efficiency: the values of a case sum to f(recipe) - f(no player present), exactly
for enumeration and for every sampled permutation alike.

``mixer`` may be a ``Mixer`` (fast coalition evaluation, ``xai.attribution.coalitions``) or any
callable with the Mixer's forward signature ``f(property_ids, ingredient_ids, amounts, mask) ->
(B,)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from tqdm.auto import tqdm

from xai.absence import REMOVED, Absence, as_absence
from xai.attribution.case_seeds import case_rng
from xai.attribution.coalitions import (
    Game,
    Model,
    enumerate_values,
    make_game,
    player_slots,
    to_slots,
)
from xai.attribution.constants import FIRST_ROUND, SAMPLERS
from xai.attribution.interactions import Interactions, interaction_matrix
from xai.attribution.kernel_shap import KernelEstimate, kernel_estimates
from xai.attribution.results import Attribution, empty_values
from xai.cases import Cases

__all__ = ["SAMPLERS", "Interactions", "exact_shapley", "shapley_interactions",
           "shapley_values"]


def shapley_values(
    mixer: Model,
    cases: Cases,
    *,
    absence: Absence | str = REMOVED,
    exact_max: int = 14,
    n_permutations: int = 256,
    sampler: str = "kernel",
    target_std_error: float | None = None,
    seed: int = 0,
    batch_size: int = 8192,
    progress: bool = False,
) -> Attribution:
    """Shapley values (N, T) of each case's players, in standardised model units.

    Method ``shapley_exact`` when every case has at most ``exact_max`` players (or, with the
    kernel sampler, a budget that covers all its coalitions), ``shapley_sampled`` when none
    has, ``shapley`` when mixed. A sampled case of n players
    evaluates as many coalitions as ``n_permutations`` permutations visit
    (``n_permutations * (n - 1)``, ``n_permutations`` rounded up to an even number), spent by
    ``sampler``: ``"kernel"`` (KernelSHAP with complete strata and paired sampling,
    :mod:`xai.attribution.kernel_shap`; more accurate for the same model evaluations, see
    BENCHMARKS.md) or ``"permutation"`` (antithetic pairs of random permutations). Samples
    come from the case's own generator (``xai.attribution.case_seeds.case_rng``: the seed,
    the formulation id and the property), so a case's values do not depend on the other cases
    in the call or on how a run is split across workers. With ``target_std_error`` a sampled
    case starts with ``FIRST_ROUND`` (64) permutations' worth and doubles them until every
    player's standard error is at most ``target_std_error * |f(recipe) - f(no player
    present)|``; ``n_permutations`` is then the most drawn. ``std_errors`` is 0 for enumerated
    cases and, for sampled ones, the standard error over antithetic pairs (permutation) or
    over groups of sampled pairs (kernel); NaN with a single pair and off the players.
    ``batch_size`` is the number of full-width coalitions per model call; ``progress`` shows
    a bar over cases. ``settings`` holds the parameters; the per-case diagnostics are ``exact``
    (N,) bool, ``n_players`` (N,), ``max_std_error`` (N,), ``permutations`` (N,) (drawn by
    the permutation sampler, 0 otherwise) and ``coalitions`` (N,) (model evaluations).
    """
    absence = as_absence(absence)
    if exact_max < 0:
        raise ValueError("exact_max must be >= 0")
    if n_permutations < 2:
        raise ValueError("n_permutations must be at least 2 (one antithetic pair)")
    n_permutations += n_permutations % 2
    if target_std_error is not None and not target_std_error > 0:
        raise ValueError("target_std_error must be positive")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, not {sampler!r}")
    N, T = cases.ids.shape
    slots = player_slots(cases, absence)
    n_players = np.array([len(s) for s in slots], dtype=np.int64)
    exact = n_players <= exact_max
    if sampler == "kernel":  # a budget that covers every coalition enumerates them instead
        exact |= n_permutations * np.maximum(n_players - 1, 0) >= 2.0**n_players - 2
    game = make_game(mixer, cases, absence, batch_size=batch_size)

    values, std_errors = empty_values(cases), empty_values(cases)
    prediction, baseline = np.full(N, np.nan), np.full(N, np.nan)
    with tqdm(total=N, desc="shapley", unit="case", disable=not progress) as bar:
        enumerated = enumerate_values(game, slots, np.flatnonzero(exact), T,
                                      batch_size=batch_size, on_done=bar.update)
        coalitions = np.zeros(N, dtype=np.int64)
        by_size: dict[int, list[int]] = {}
        for r in enumerated:
            by_size.setdefault(len(slots[r]), []).append(r)
        for n, group in by_size.items():
            phi = exact_shapley(np.stack([enumerated[r] for r in group]), n)
            for r, row in zip(group, phi, strict=True):
                values[r, slots[r]], std_errors[r, slots[r]] = row, 0.0
        for r, v in enumerated.items():
            baseline[r], prediction[r] = v[0], v[-1]
            coalitions[r] = len(v)
        rows = np.flatnonzero(~exact)
        rngs = {int(r): case_rng(seed, cases.formulation_ids[r], cases.properties[r])
                for r in rows}
        sampled = _sampled(sampler, game, slots, rows, T, n_permutations, rngs, batch_size,
                           bar.update, target_std_error)
        drawn = np.zeros(N, dtype=np.int64)
        for r, estimate in sampled.items():
            values[r, slots[r]], std_errors[r, slots[r]] = estimate.values, estimate.std_errors
            baseline[r], prediction[r] = estimate.empty, estimate.full
            coalitions[r] = estimate.coalitions
            drawn[r] = getattr(estimate, "permutations", 0)

    method = ("shapley_exact" if exact.all() else
              "shapley_sampled" if not exact.any() else "shapley")
    max_se = np.array([np.max(std_errors[r, slots[r]]) if len(slots[r]) else 0.0
                       for r in range(N)])
    return Attribution(
        method=method, absence=absence, formulation_ids=cases.formulation_ids,
        properties=cases.properties, ingredients=cases.ingredients, raw_amounts=cases.raw_amounts,
        values=values, prediction=prediction, baseline=baseline, std_errors=std_errors,
        settings={"units": "standardised model output", "exact_max": exact_max,
                  "n_permutations": n_permutations, "sampler": sampler,
                  "target_std_error": target_std_error, "seed": seed},
        exact=exact, permutations=drawn, coalitions=coalitions, n_players=n_players,
        max_std_error=max_se,
    )


def shapley_interactions(
    mixer: Model,
    cases: Cases,
    *,
    absence: Absence | str = REMOVED,
    max_players: int = 12,
    batch_size: int = 8192,
) -> Interactions:
    """Pairwise Shapley interaction values (N, T, T) by exact enumeration, in standardised model
    units; cases with more than ``max_players`` players are left NaN. See
    ``xai.attribution.interactions`` for the convention (half the Shapley interaction index off
    the diagonal, main effects on it)."""
    absence = as_absence(absence)
    N, T = cases.ids.shape
    slots = player_slots(cases, absence)
    n_players = np.array([len(s) for s in slots], dtype=np.int64)
    rows = np.flatnonzero(n_players <= max_players)
    game = make_game(mixer, cases, absence, batch_size=batch_size)
    values = np.full((N, T, T), np.nan)
    prediction, baseline = np.full(N, np.nan), np.full(N, np.nan)
    for r, v in enumerate_values(game, slots, rows, T, batch_size=batch_size).items():
        n = len(slots[r])
        values[r, slots[r][:, None], slots[r][None, :]] = interaction_matrix(
            v, n, exact_shapley(v, n))
        baseline[r], prediction[r] = v[0], v[-1]
    return Interactions(
        formulation_ids=cases.formulation_ids, properties=cases.properties,
        ingredients=cases.ingredients, values=values, absence=absence,
        prediction=prediction, baseline=baseline,
        settings={"units": "standardised model output", "max_players": max_players,
                  "convention": "lundberg: off-diagonal = half the Shapley interaction index"},
        n_players=n_players, enumerated=n_players <= max_players,
    )


def exact_shapley(v: np.ndarray, n: int) -> np.ndarray:
    """Shapley values (..., n) from v (..., 2^n) over all subsets (bit j of the index = player j):
    phi_j = sum over S without j of |S|! (n - |S| - 1)! / n! * (v(S + j) - v(S)), for any
    number of cases at once as one product with the subsets' coefficients."""
    v = np.asarray(v, dtype=np.float64)
    if v.shape[-1] != 2**n:
        raise ValueError(f"v must hold 2^{n} subset values, not {v.shape[-1]}")
    return v @ _coefficients(n)


def _coefficients(n: int) -> np.ndarray:
    """(2^n, n): v(T)'s weight in phi_j, w(|T| - 1) where T holds j and -w(|T|) where not,
    with w(k) = 1 / (n * C(n - 1, k))."""
    s = np.arange(2**n, dtype=np.int64)
    sizes = np.bitwise_count(s)
    weights = np.array([1.0 / (n * comb(n - 1, k)) for k in range(n)] + [0.0])
    holds = ((s[:, None] >> np.arange(n)) & 1).astype(bool)
    return np.where(holds, weights[np.maximum(sizes, 1) - 1][:, None], -weights[sizes][:, None])


@dataclass(frozen=True)
class _Estimate:
    """A sampled case: the antithetic pair means (pairs, n) it rests on and v(empty), v(full)."""

    pairs: np.ndarray
    empty: float
    full: float

    @property
    def permutations(self) -> int:
        return 2 * len(self.pairs)

    @property
    def coalitions(self) -> int:
        return self.permutations * (self.pairs.shape[1] - 1) + 2

    @property
    def values(self) -> np.ndarray:
        return self.pairs.mean(0)

    @property
    def std_errors(self) -> np.ndarray:
        if len(self.pairs) < 2:
            return np.full(self.pairs.shape[1], np.nan)
        return self.pairs.std(0, ddof=1) / np.sqrt(len(self.pairs))

    def more(self, other: _Estimate) -> _Estimate:
        return _Estimate(np.concatenate([self.pairs, other.pairs]), self.empty, self.full)


def _sampled(
    sampler: str,
    game: Game,
    slots: list[np.ndarray],
    rows: np.ndarray,
    width: int,
    n_permutations: int,
    rngs: dict[int, np.random.Generator],
    batch_size: int,
    on_done,
    target_std_error: float | None = None,
) -> dict[int, _Estimate | KernelEstimate]:
    """Sampled estimates per row with ``n_permutations`` permutations' worth of model
    evaluations (antithetic permutations, or ``n_permutations * (n - 1)`` KernelSHAP
    coalitions): all at once, or in rounds that double the budget of the rows whose standard
    errors are still above target. ``rngs[r]`` is row r's generator; every round draws from
    it."""

    def draw(todo, count: int, earlier: dict, done) -> dict:
        if sampler == "kernel":
            return kernel_estimates(game, slots, todo, width, lambda n: count * (n - 1), rngs,
                                    batch_size, done, more=earlier)
        fresh = _draw(game, slots, todo, width, count, rngs, batch_size, done, ends=earlier)
        return {r: earlier[r].more(e) if r in earlier else e for r, e in fresh.items()}

    if target_std_error is None:
        return draw(rows, n_permutations, {}, on_done)
    out: dict = {}
    todo, drawn = list(rows), 0
    while todo:
        step = min(max(drawn, FIRST_ROUND), n_permutations - drawn)
        out.update(draw(todo, step, out, lambda _: None))
        drawn += step
        done = {r for r in todo if drawn >= n_permutations or np.all(
            out[r].std_errors <= target_std_error * abs(out[r].full - out[r].empty))}
        on_done(len(done))
        todo = [r for r in todo if r not in done]
    return out


def _draw(
    game: Game,
    slots: list[np.ndarray],
    rows,
    width: int,
    n_permutations: int,
    rngs: dict[int, np.random.Generator],
    batch_size: int,
    on_done,
    ends: dict[int, _Estimate] | None = None,
) -> dict[int, _Estimate]:
    """``n_permutations`` antithetic permutations for each of ``rows``, row r's drawn from
    ``rngs[r]``.

    Every permutation's interior prefixes (sizes 1..n-1) of every case in a pool are evaluated
    in one call to ``game``; the empty and full coalitions once per case. Where ``ends`` has an
    earlier estimate of a row, its v(empty) and v(full) are used, so that every permutation of
    the row telescopes to the same two values (efficiency holds exactly across rounds).
    """
    out = {}
    pending: list[tuple[int, np.ndarray]] = []
    pending_size = 0

    def flush() -> None:
        nonlocal pending, pending_size
        if not pending:
            return
        index, blocks = [], []
        for r, order in pending:
            n = len(slots[r])
            rank = np.empty_like(order)
            np.put_along_axis(rank, order, np.arange(n)[None, :], axis=1)
            prefix = rank[:, None, :] < np.arange(1, n)[None, :, None]  # (M, n-1, n)
            members = np.concatenate([np.zeros((1, n), bool), np.ones((1, n), bool),
                                      prefix.reshape(-1, n)])
            blocks.append(to_slots(slots[r], members, width))
            index.append(np.full(len(members), r, dtype=np.int64))
        v = game(np.concatenate(index), np.concatenate(blocks))
        start = 0
        for (r, order), block in zip(pending, blocks, strict=True):
            part, start = v[start:start + len(block)], start + len(block)
            if ends and r in ends:
                part[:2] = ends[r].empty, ends[r].full
            out[r] = _antithetic_pairs(order, part)
        on_done(len(pending))
        pending, pending_size = [], 0

    for r in rows:
        n = len(slots[r])
        half = rngs[int(r)].permuted(np.tile(np.arange(n), (n_permutations // 2, 1)), axis=1)
        pending.append((r, np.concatenate([half, half[:, ::-1]])))  # row k and k + M/2 pair up
        pending_size += n_permutations * (n - 1) + 2
        if pending_size >= 4 * batch_size:
            flush()
    flush()
    return out


def _antithetic_pairs(order: np.ndarray, v: np.ndarray) -> _Estimate:
    """Pair means of marginal contributions from permutations ``order`` (M, n), rows k and
    k + M/2 reversed, and v laid out as [empty, full, prefixes of permutation 0 (sizes
    1..n-1), ...]."""
    M, n = order.shape
    path = np.empty((M, n + 1))
    path[:, 0], path[:, n] = v[0], v[1]
    path[:, 1:n] = v[2:].reshape(M, n - 1)
    contribution = np.empty((M, n))
    np.put_along_axis(contribution, order, np.diff(path, axis=1), axis=1)
    pairs = 0.5 * (contribution[: M // 2] + contribution[M // 2:])  # (M/2, n) one sample each
    return _Estimate(pairs, float(v[0]), float(v[1]))
