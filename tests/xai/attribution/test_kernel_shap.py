"""KernelSHAP: exact with every coalition, efficient always, as accurate as shapiq's KernelSHAP
at equal budgets, and its standard errors in line with its errors."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from xai.attribution.coalitions import subset_members
from xai.attribution.kernel_shap import kernel_estimates, plan_strata, size_weights
from xai.attribution.shapley import exact_shapley


def _game(n: int, seed: int = 0):
    """A nonlinear game of n players (a squashed sum plus pairwise terms) and its exact values."""
    rng = np.random.default_rng(seed)
    w, c = rng.normal(size=(n, n)), rng.normal(size=n)

    def value(z: np.ndarray) -> np.ndarray:
        x = np.asarray(z, dtype=np.float64)
        return np.tanh(x @ c) + 0.3 * np.einsum("ci,ij,cj->c", x, w, x) / n

    return value, exact_shapley(value(subset_members(n)), n)


def _estimate(value, n: int, budget: int, seed: int):
    game = lambda index, coalitions: value(coalitions[:, :n])  # noqa: E731
    return kernel_estimates(game, [np.arange(n)], [0], n, lambda _: budget,
                            {0: np.random.default_rng(seed)}, 8192, lambda _: None)[0]


@pytest.mark.parametrize("n", [2, 5, 9])
def test_every_coalition_gives_the_exact_values(n):
    value, exact = _game(n)
    estimate = _estimate(value, n, 2**n - 2, seed=0)
    assert plan_strata(n, 2**n - 2)[1] == []  # all sizes enumerated
    np.testing.assert_allclose(estimate.values, exact, atol=1e-10)
    np.testing.assert_array_equal(estimate.std_errors, 0.0)
    assert estimate.coalitions == 2**n


def test_border_trick_enumerates_the_heaviest_pairs_first():
    complete, sampled = plan_strata(12, 1024)
    assert complete == [1, 2, 10, 11] and sampled == list(range(3, 10))
    assert sum(comb(12, k) for k in complete) <= 1024
    weights = size_weights(12)
    assert weights[0] == weights[12] == 0 and weights[1] == weights[11] > weights[6]


@pytest.mark.parametrize("budget", [60, 300])
def test_sampled_estimates_are_efficient_and_more_budget_helps(budget):
    value, exact = _game(12)
    estimate = _estimate(value, 12, budget, seed=3)
    assert estimate.values.sum() == pytest.approx(estimate.full - estimate.empty, abs=1e-10)
    assert estimate.coalitions == 2 + budget // 2 * 2 or estimate.coalitions <= budget + 2


def test_as_accurate_as_shapiq_kernelshap_at_equal_budget():
    shapiq = pytest.importorskip("shapiq")
    n, budget = 12, 512
    value, exact = _game(n, seed=1)
    ours, theirs = [], []
    for seed in range(20):
        ours.append(np.abs(_estimate(value, n, budget, seed).values - exact).max())
        approximator = shapiq.KernelSHAP(n=n, pairing_trick=True, random_state=seed)
        got = approximator.approximate(budget + 2, value)
        theirs.append(np.abs(np.array([got[(j,)] for j in range(n)]) - exact).max())
    assert np.mean(ours) < 1.25 * np.mean(theirs)
    assert np.mean(ours) < 0.2 * np.abs(exact).max()  # and useful at all


def test_more_coalitions_for_an_estimate_shrink_its_error_and_standard_error():
    value, exact = _game(12, seed=2)
    n = 12
    game = lambda index, coalitions: value(coalitions[:, :n])  # noqa: E731
    rng = {0: np.random.default_rng(5)}
    first = kernel_estimates(game, [np.arange(n)], [0], n, lambda _: 128, rng, 8192,
                             lambda _: None)
    error, se = np.abs(first[0].values - exact).max(), first[0].std_errors.max()
    grown = first
    for _ in range(4):
        grown = kernel_estimates(game, [np.arange(n)], [0], n, lambda _: 512, rng, 8192,
                                 lambda _: None, more=grown)
    assert grown[0].coalitions > first[0].coalitions + 2000
    assert grown[0].std_errors.max() < se
    assert np.abs(grown[0].values - exact).max() < error


def test_standard_errors_track_the_errors_over_seeds():
    value, exact = _game(10, seed=4)
    errors, ses = [], []
    for seed in range(40):
        e = _estimate(value, 10, 200, seed)
        errors.append(e.values - exact)
        ses.append(e.std_errors)
    rmse = np.sqrt(np.mean(np.square(errors), 0))
    ratio = np.mean(ses, 0) / rmse
    assert 0.5 < np.median(ratio) < 2.0  # batch-means standard errors of the right size
