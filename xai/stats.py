"""Small paired statistics shared by the substitution and reduction experiments.

Every experiment here compares two predictions of the same cases (a swapped vector against the
original one, a merged vocabulary against the full one), so the statistics are paired: intervals
for a mean difference and tests on per-case (or per-fold) differences. The resampling work is
scipy's (:func:`scipy.stats.bootstrap`, :func:`scipy.stats.permutation_test`,
:func:`scipy.stats.wilcoxon`); this module fixes the conventions (seeded, NaN where there are too
few pairs, degenerate samples handled) and returns small dataclasses that serialise to JSON.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from models.intervals import Interval as Interval  # re-exported: the analysers' interval type
from models.intervals import t_interval as t_interval
from models.intervals import t_test_pvalue as t_test_pvalue

NAN = float("nan")


@dataclass(frozen=True)
class PairedTest:
    """A test of paired values ``x`` against ``y``.

    ``effect_size`` is the matched-pairs rank-biserial correlation for the Wilcoxon test, in
    [-1, 1]: negative when ``x`` tends to be below ``y``. ``share_less`` is the share of pairs
    with ``x < y``; ``median_difference`` the median of ``x - y``.
    """

    test: str
    n: int
    statistic: float
    p_value: float
    effect_size: float
    median_difference: float
    share_less: float

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap_interval(
    samples: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Paired bootstrap interval of ``statistic(*samples)`` (BCa, percentile if BCa fails).

    ``samples`` are equally long 1-D arrays resampled together (row i of each stays together);
    ``statistic`` must accept an ``axis`` keyword. NaN pairs are dropped first. With fewer than two
    pairs the bounds are NaN; when every resample would give the same value the interval is that
    value.
    """
    return bootstrap_intervals([samples], statistic, n_resamples=n_resamples,
                               confidence=confidence, seed=seed)[0]


def bootstrap_intervals(
    cases: Sequence[tuple[np.ndarray, ...]],
    statistic: Callable[..., np.ndarray],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[Interval]:
    """:func:`bootstrap_interval` of each entry of ``cases``, with the same seed.

    With one seed the resamples depend only on the number of pairs, so the entries of equal
    length share one row-vectorised scipy call: each gets, to the bit, the interval its own
    call gives, at a fraction of the cost when there are many (a substitution experiment
    computes thousands).
    """
    out: list[Interval | None] = [None] * len(cases)
    groups: dict[int, list[tuple[int, float, list[np.ndarray]]]] = {}
    for i, samples in enumerate(cases):
        arrays = [np.asarray(s, dtype=np.float64) for s in samples]
        if len({len(a) for a in arrays}) != 1:
            raise ValueError("paired samples must have the same length")
        keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
        arrays = [a[keep] for a in arrays]
        n = len(arrays[0])
        if n == 0:
            out[i] = Interval(NAN, NAN, NAN, confidence, "none", 0)
            continue
        estimate = float(statistic(*arrays, axis=-1))
        if n < 2:
            out[i] = Interval(estimate, NAN, NAN, confidence, "none", n)
        elif all(np.ptp(a) == 0 for a in arrays):
            out[i] = Interval(estimate, estimate, estimate, confidence, "constant", n)
        else:
            groups.setdefault(n, []).append((i, estimate, arrays))
    for n, members in groups.items():
        per_call = max(1, _MAX_VALUES // (n * n_resamples))
        for start in range(0, len(members), per_call):
            for i, interval in _bootstrap_group(members[start:start + per_call], statistic, n,
                                                n_resamples, confidence, seed):
                out[i] = interval
    return out  # type: ignore[return-value]


_MAX_VALUES = 2_000_000
"""Resampled values held at once (about 16 MB)."""


def _bootstrap_group(
    members: list[tuple[int, float, list[np.ndarray]]], statistic: Callable[..., np.ndarray],
    n: int, n_resamples: int, confidence: float, seed: int,
) -> list[tuple[int, Interval]]:
    """Intervals of ``members`` (index, estimate, arrays of ``n`` pairs): BCa for all in one
    call, percentile for those whose BCa bounds are not finite, NaN bounds if neither is."""
    done, pending = [], members
    for method in ("BCa", "percentile"):
        if not pending:
            break
        data = tuple(np.stack(column) for column in
                     zip(*(arrays for *_, arrays in pending), strict=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate BCa: handled by the fallback
            result = stats.bootstrap(
                data, _row_by_row(statistic), n_resamples=n_resamples, paired=True,
                vectorized=True, axis=-1, confidence_level=confidence, method=method,
                rng=np.random.default_rng(seed), batch=_batch(n_resamples, n * len(pending)),
            )
        lows = np.atleast_1d(result.confidence_interval.low)
        highs = np.atleast_1d(result.confidence_interval.high)
        failed = []
        for (i, estimate, arrays), low, high in zip(pending, lows, highs, strict=True):
            if math.isfinite(low) and math.isfinite(high):
                done.append((i, Interval(estimate, float(low), float(high), confidence,
                                         f"bootstrap-{method.lower()}", n)))
            else:
                failed.append((i, estimate, arrays))
        pending = failed
    done += [(i, Interval(estimate, NAN, NAN, confidence, "none", n))
             for i, estimate, _ in pending]
    return done


def _row_by_row(statistic: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """``statistic`` applied to each case (leading axis) on its own. numpy's summation order
    depends on an array's shape, so computed on the stacked cases a resampled mean could differ
    in its last bit from the case's own and, with tied values, move the BCa interval by a whole
    step: each case's interval would depend on the others."""

    def each(*arrays: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.stack([statistic(*case, axis=axis) for case in zip(*arrays, strict=True)])

    return each


def _batch(n_resamples: int, n: int) -> int:
    """Resamples per batch: all of them unless that would hold more than ``_MAX_VALUES``
    values. scipy draws the same resamples whatever the batch, so the interval does not depend
    on it."""
    return max(1, min(n_resamples, _MAX_VALUES // max(n, 1)))


def mean_interval(
    values: np.ndarray, *, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """Bootstrap interval of the mean of per-case values (e.g. paired differences)."""
    return bootstrap_interval((values,), np.mean, n_resamples=n_resamples,
                              confidence=confidence, seed=seed)


def mean_intervals(
    samples: Sequence[np.ndarray], *, n_resamples: int = 2000, confidence: float = 0.95,
    seed: int = 0,
) -> list[Interval]:
    """:func:`mean_interval` of each of ``samples`` (one seed), computed together
    (:func:`bootstrap_intervals`)."""
    return bootstrap_intervals([(values,) for values in samples], np.mean,
                               n_resamples=n_resamples, confidence=confidence, seed=seed)


def mean_difference_interval(
    x: np.ndarray, y: np.ndarray, *, n_resamples: int = 2000, confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Paired bootstrap interval of mean(x - y)."""
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return mean_interval(d, n_resamples=n_resamples, confidence=confidence, seed=seed)


def rmse_difference_interval(
    error_x: np.ndarray, error_y: np.ndarray, *, n_resamples: int = 2000,
    confidence: float = 0.95, seed: int = 0,
) -> Interval:
    """Paired bootstrap interval of RMSE(x) - RMSE(y) from per-case errors of two predictors."""

    def statistic(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sqrt(np.mean(a**2, axis=axis)) - np.sqrt(np.mean(b**2, axis=axis))

    return bootstrap_interval((error_x, error_y), statistic, n_resamples=n_resamples,
                              confidence=confidence, seed=seed)


def sign_flip_pvalue(
    differences: np.ndarray, *, n_resamples: int = 2000, seed: int = 0,
    alternative: str = "two-sided",
) -> float:
    """Permutation p-value of mean(differences) = 0 by flipping signs of paired differences
    (exact when there are few enough pairs); NaN with fewer than two pairs or no non-zero
    difference."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) < 2 or not np.any(d):
        return NAN
    result = stats.permutation_test(
        (d,), lambda x, axis=-1: np.mean(x, axis=axis), permutation_type="samples",
        vectorized=True, n_resamples=n_resamples, alternative=alternative,
        rng=np.random.default_rng(seed),
    )
    return float(result.pvalue)


def empirical_pvalue(observed: float, null: np.ndarray, *, alternative: str = "less") -> float:
    """Share of a null sample at least as extreme as ``observed``, with the +1 correction.

    ``alternative="less"``: ``(1 + #(null <= observed)) / (1 + n)``, small when ``observed`` is
    below nearly all of the null; ``"greater"`` mirrors it. NaN for an empty null or NaN
    observation.
    """
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if len(null) == 0 or not math.isfinite(observed):
        return NAN
    if alternative == "less":
        count = int(np.sum(null <= observed))
    elif alternative == "greater":
        count = int(np.sum(null >= observed))
    else:
        raise ValueError(f"alternative must be 'less' or 'greater', not {alternative!r}")
    return (1 + count) / (1 + len(null))


def wilcoxon_test(x: np.ndarray, y: np.ndarray) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of paired ``x`` against ``y``, with its effect size.

    Zero differences are dropped (Wilcoxon's convention) for both the test and the
    rank-biserial effect size; with no non-zero difference the statistic and p-value are NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    d = x[keep] - y[keep]
    n = len(d)
    share_less = float(np.mean(d < 0)) if n else NAN
    median = float(np.median(d)) if n else NAN
    nonzero = d[d != 0]
    if len(nonzero) == 0:
        return PairedTest("wilcoxon", n, NAN, NAN, 0.0 if n else NAN, median, share_less)
    ranks = stats.rankdata(np.abs(nonzero))
    positive, negative = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    effect = float((positive - negative) / (positive + negative))
    result = stats.wilcoxon(nonzero)
    return PairedTest("wilcoxon", n, float(result.statistic), float(result.pvalue), effect,
                      median, share_less)


def finite_mean(values: np.ndarray) -> float:
    """Mean of the finite values (NaN when there are none)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")
