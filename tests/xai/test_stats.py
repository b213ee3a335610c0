import math

import numpy as np
import pytest
from scipy import stats

from xai.stats import (
    bootstrap_intervals,
    empirical_pvalue,
    finite_mean,
    mean_difference_interval,
    mean_interval,
    mean_intervals,
    rmse_difference_interval,
    sign_flip_pvalue,
    t_interval,
    t_test_pvalue,
    wilcoxon_test,
)


def test_mean_interval_covers_the_mean_with_the_normal_width():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    interval = mean_interval(x, n_resamples=2000, seed=1)
    assert interval.estimate == pytest.approx(x.mean())
    assert interval.low < 3.0 < interval.high
    normal_half_width = 1.96 * x.std(ddof=1) / math.sqrt(len(x))
    assert (interval.high - interval.low) / 2 == pytest.approx(normal_half_width, rel=0.15)
    assert interval.method == "bootstrap-bca" and interval.n == 400


def test_mean_interval_is_reproducible_and_seed_dependent():
    x = np.random.default_rng(1).exponential(size=30)
    assert mean_interval(x, seed=3) == mean_interval(x, seed=3)
    assert mean_interval(x, seed=3).low != mean_interval(x, seed=4).low


def test_degenerate_and_tiny_samples():
    constant = mean_interval(np.full(10, 0.5))
    assert (constant.low, constant.estimate, constant.high) == (0.5, 0.5, 0.5)
    assert constant.method == "constant"
    single = mean_interval(np.array([2.0]))
    assert single.estimate == 2.0 and math.isnan(single.low) and math.isnan(single.high)
    empty = mean_interval(np.array([np.nan, np.nan]))
    assert empty.n == 0 and math.isnan(empty.estimate)


def test_paired_intervals_drop_nan_pairs_and_match_direct_statistics():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 2, 50), rng.normal(0, 1, 50)
    a[3] = np.nan
    diff = mean_difference_interval(a, b, n_resamples=500)
    assert diff.n == 49
    assert diff.estimate == pytest.approx(np.nanmean(a - b))
    rmse = rmse_difference_interval(a, b, n_resamples=500)
    keep = np.isfinite(a)
    expected = np.sqrt(np.mean(a[keep] ** 2)) - np.sqrt(np.mean(b[keep] ** 2))
    assert rmse.estimate == pytest.approx(expected)
    assert rmse.low < expected < rmse.high


def test_t_interval_matches_hand_computation_and_the_correction_widens_it():
    d = np.array([1.0, 2.0, 3.0])  # mean 2, sd 1
    plain = t_interval(d)
    half = stats.t.ppf(0.975, 2) / math.sqrt(3)
    assert (plain.low, plain.high) == pytest.approx((2 - half, 2 + half))
    corrected = t_interval(d, correction=0.5)
    half_c = stats.t.ppf(0.975, 2) * math.sqrt(1 / 3 + 0.5)
    assert (corrected.low, corrected.high) == pytest.approx((2 - half_c, 2 + half_c))
    assert corrected.method == "t-corrected"
    assert t_test_pvalue(d) == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)
    assert t_test_pvalue(d, correction=0.5) > t_test_pvalue(d)
    assert math.isnan(t_interval(np.array([1.0])).low)


def test_sign_flip_pvalue_is_exact_for_few_pairs():
    # 5 positive differences: only the all-positive and all-negative sign patterns are as
    # extreme, 2 of 32.
    assert sign_flip_pvalue(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx(2 / 32)
    assert sign_flip_pvalue(np.array([1.0, -1.0, 2.0, -2.0])) == pytest.approx(1.0)
    assert math.isnan(sign_flip_pvalue(np.zeros(4)))
    assert math.isnan(sign_flip_pvalue(np.array([1.0])))


def test_empirical_pvalue_counts_the_null_with_plus_one():
    null = np.arange(1.0, 20.0)  # 19 values
    assert empirical_pvalue(0.5, null) == pytest.approx(1 / 20)
    assert empirical_pvalue(100.0, null) == pytest.approx(1.0)
    assert empirical_pvalue(5.0, null) == pytest.approx(6 / 20)  # 1..5 are <= 5
    assert empirical_pvalue(100.0, null, alternative="greater") == pytest.approx(1 / 20)
    assert math.isnan(empirical_pvalue(1.0, np.array([])))
    with pytest.raises(ValueError):
        empirical_pvalue(1.0, null, alternative="two-sided")


def test_wilcoxon_effect_size_and_pvalue():
    rng = np.random.default_rng(3)
    x = np.arange(12.0)
    y = x + 1 + rng.normal(0, 0.1, 12)
    test = wilcoxon_test(x, y)
    assert test.effect_size == -1.0 and test.share_less == 1.0
    assert test.p_value == pytest.approx(stats.wilcoxon(x - y).pvalue)
    assert test.n == 12 and test.median_difference < 0
    # Ranks of |d| are 1..4; positive ones 1 and 4 -> (5 - 5) / 10 = 0.
    balanced = wilcoxon_test(np.array([1.0, -2.0, -3.0, 4.0]), np.zeros(4))
    assert balanced.effect_size == pytest.approx(0.0)
    same = wilcoxon_test(np.ones(5), np.ones(5))
    assert math.isnan(same.p_value) and same.effect_size == 0.0


def test_finite_mean_ignores_nan():
    assert finite_mean(np.array([1.0, np.nan, 3.0])) == 2.0
    assert np.isnan(finite_mean(np.array([np.nan])))


def test_bootstrap_interval_does_not_depend_on_the_batch():
    """A sample large enough to be resampled in batches gives scipy's one-batch interval."""
    values = np.random.default_rng(4).normal(size=5_000)
    ours = mean_interval(values, seed=7)
    whole = stats.bootstrap((values,), np.mean, n_resamples=2000, vectorized=True,
                            method="BCa", rng=np.random.default_rng(7), batch=None)
    assert (ours.low, ours.high) == (whole.confidence_interval.low,
                                     whole.confidence_interval.high)


def test_intervals_computed_together_equal_one_scipy_call_each():
    """Samples of equal length share a call; each interval is still, to the bit, scipy's for
    that sample alone, also with tied values (where a last-bit difference in a resampled mean
    moves a BCa bound by a whole step), and with NaN-dropping, constant and short samples."""
    rng = np.random.default_rng(5)
    samples = [np.round(rng.normal(size=8), 1) for _ in range(12)]  # many ties
    samples += [rng.exponential(size=30) for _ in range(3)]
    samples += [np.r_[rng.normal(size=11), np.nan],  # 11 pairs after the NaN: joins no group
                np.full(9, 2.5), np.array([1.0]), np.zeros(0)]
    together = mean_intervals(samples, seed=3)
    for values, ours in zip(samples, together, strict=True):
        alone = mean_interval(values, seed=3)
        assert (ours.method, ours.n, ours.estimate) == (alone.method, alone.n, alone.estimate)
        assert (ours.low, ours.high) == (alone.low, alone.high) or math.isnan(alone.low)
        if alone.method == "bootstrap-bca":
            reference = stats.bootstrap((values[np.isfinite(values)],), np.mean,
                                        n_resamples=2000, vectorized=True, method="BCa",
                                        rng=np.random.default_rng(3))
            assert (ours.low, ours.high) == (reference.confidence_interval.low,
                                             reference.confidence_interval.high)
    assert [i.method for i in together[-4:]] == ["bootstrap-bca", "constant", "none", "none"]


def test_paired_intervals_computed_together_keep_pairs_and_fall_back_alone():
    """Pairs stay together; a case whose BCa bounds are not finite (every resampled RMSE
    difference is 0) falls back to the percentile interval without moving the others."""
    rng = np.random.default_rng(6)
    pairs = [(rng.normal(size=2), rng.normal(size=2)) for _ in range(3)]
    pairs.insert(1, (np.array([-1.0, 1.0]), np.array([1.0, 1.0])))

    def rmse_difference(a, b, axis=-1):
        return np.sqrt(np.mean(a**2, axis=axis)) - np.sqrt(np.mean(b**2, axis=axis))

    together = bootstrap_intervals(pairs, rmse_difference, seed=2)
    assert [i.method for i in together] == ["bootstrap-bca", "bootstrap-percentile",
                                            "bootstrap-bca", "bootstrap-bca"]
    for (a, b), ours in zip(pairs, together, strict=True):
        method = "BCa" if ours.method == "bootstrap-bca" else "percentile"
        reference = stats.bootstrap((a, b), rmse_difference, n_resamples=2000, paired=True,
                                    vectorized=True, method=method,
                                    rng=np.random.default_rng(2))
        assert (ours.low, ours.high) == (reference.confidence_interval.low,
                                         reference.confidence_interval.high)
