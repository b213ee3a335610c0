"""Shapley values and interactions: known answers on toy games, brute force on a real Mixer."""

from dataclasses import replace
from itertools import combinations, permutations
from math import factorial

import numpy as np
import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from xai.attribution.shapley import (
    Interactions,
    exact_shapley,
    shapley_interactions,
    shapley_values,
)
from xai.cases import Cases, random_cases


def make_cases(sizes=(4, 6, 3, 5), balance=(0, 2, -1, 4), seed=0):
    return random_cases(sizes, balance, seed=seed)


def small_mixer(**options):
    config = dict(n_ingredients=21, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                  n_heads=4, head_hidden=8)
    config.update(options)
    return build_mixer(MixerConfig(**config), seed=11).eval()


WEIGHTS = torch.linspace(-1.0, 2.0, 21, dtype=torch.float64)


def additive(property_ids, ids, amounts, mask):
    """A model whose output is a sum of per-ingredient contributions weight(id) * amount."""
    return (WEIGHTS[ids] * amounts.double() * mask).sum(1)


def with_product(a_id: int, b_id: int, bonus: float):
    """``additive`` plus bonus * amount(a) * amount(b): one interacting pair."""
    def model(property_ids, ids, amounts, mask):
        held = amounts.double() * mask
        a = (held * (ids == a_id)).sum(1)
        b = (held * (ids == b_id)).sum(1)
        return additive(property_ids, ids, amounts, mask) + bonus * a * b
    return model


def brute_force(model, cases: Cases, row: int) -> np.ndarray:
    """Shapley values under ``removed`` absence, one plain forward call per coalition."""
    n = int(cases.mask[row].sum())
    one = slice(row, row + 1)

    def v(subset) -> float:
        mask = torch.zeros_like(cases.mask[one])
        mask[0, list(subset)] = True
        with torch.no_grad():
            return float(model(cases.property_ids[one], cases.ids[one], cases.amounts[one], mask))

    values = {s: v(s) for k in range(n + 1) for s in combinations(range(n), k)}
    phi = np.zeros(n)
    for j in range(n):
        for s, value in values.items():
            if j not in s:
                weight = factorial(len(s)) * factorial(n - len(s) - 1) / factorial(n)
                phi[j] += weight * (values[tuple(sorted(s + (j,)))] - value)
    return phi


# -- exact --------------------------------------------------------------------------------------


def test_additive_model_gets_its_own_contributions():
    cases = replace(make_cases(), amounts=make_cases().amounts.double())  # exact arithmetic
    amounts = cases.amounts.double().numpy()
    w = WEIGHTS[cases.ids].numpy()
    result = shapley_values(additive, cases)
    assert result.method == "shapley_exact"
    expected = np.where(cases.mask.numpy(), w * amounts, np.nan)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.prediction, (w * amounts).sum(1), atol=1e-12)
    np.testing.assert_allclose(result.baseline, 0.0, atol=1e-12)

    # under balance absence an ingredient's amount goes to the balance ingredient instead
    balance = shapley_values(additive, cases, absence="balance")
    slot = cases.balance_slot.numpy()
    for i, size in enumerate(cases.mask.sum(1).tolist()):
        w_b = w[i, slot[i]] if slot[i] >= 0 else 0.0
        for j in range(size):
            want = np.nan if j == slot[i] else amounts[i, j] * (w[i, j] - w_b)
            np.testing.assert_allclose(balance.values[i, j], want, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_exact_matches_brute_force_on_a_mixer(dtype):
    mixer = small_mixer(n_layers=3, amount_encoding="fourier").to(dtype)
    cases = make_cases()
    result = shapley_values(mixer, cases, batch_size=16)
    tolerance = 1e-9 if dtype == torch.float64 else 1e-5
    for row in range(len(cases)):
        np.testing.assert_allclose(result.row(row), brute_force(mixer, cases, row),
                                   rtol=0, atol=tolerance)
    # efficiency holds to float precision whatever precision the model runs in
    assert np.abs(result.completeness_error).max() < 1e-12
    assert np.isnan(result.values[2, 3:]).all()  # padding
    assert (result.std_errors[~np.isnan(result.values)] == 0).all()
    assert result.exact.tolist() == [True] * 4


def test_balance_ingredient_is_not_a_player():
    mixer = small_mixer().double()
    cases = make_cases()
    result = shapley_values(mixer, cases, absence="balance")
    assert np.isnan(result.values[0, 0]) and np.isnan(result.values[1, 2])
    assert not np.isnan(result.values[2, :3]).any()  # no balance ingredient: every one plays
    assert result.n_players.tolist() == [3, 5, 3, 4]
    assert np.abs(result.completeness_error).max() < 1e-12


# -- sampled ------------------------------------------------------------------------------------


def test_sampled_agrees_with_exact_within_its_errors():
    mixer = small_mixer(n_layers=3, layer_norm=True)
    cases = make_cases(sizes=(10,), balance=(-1,), seed=3)
    exact = shapley_values(mixer, cases)
    sampled = shapley_values(mixer, cases, exact_max=9, n_permutations=200, seed=1,
                             sampler="permutation")
    assert sampled.method == "shapley_sampled" and not sampled.exact[0]
    se = sampled.std_errors[0]
    assert (se > 0).all()
    z = np.abs(sampled.values[0] - exact.values[0]) / se
    assert z.max() < 4.0
    # the estimate is not merely loose: errors are small against the values themselves
    assert se.max() < 0.2 * np.abs(exact.values[0]).max()
    assert sampled.max_std_error[0] == pytest.approx(se.max())
    assert sampled.settings["n_permutations"] == 200
    # every permutation telescopes, so efficiency holds for the estimate too
    assert abs(sampled.completeness_error[0]) < 1e-12
    # enumeration evaluates all subsets in one pass of its own: equal to float32 rounding
    assert sampled.prediction[0] == pytest.approx(exact.prediction[0], abs=1e-6)


def test_sampled_is_exact_for_an_additive_model_and_seeded():
    cases = make_cases(sizes=(8, 5), balance=(-1, -1))
    first = shapley_values(additive, cases, exact_max=2, n_permutations=6, seed=4,
                           sampler="permutation")
    exact = shapley_values(additive, cases)
    np.testing.assert_allclose(first.values, exact.values, atol=1e-12)
    np.testing.assert_allclose(np.nan_to_num(first.std_errors), 0.0, atol=1e-12)
    mixer = small_mixer()
    a = shapley_values(mixer, cases, exact_max=2, n_permutations=6, seed=4,
                       sampler="permutation")
    b = shapley_values(mixer, cases, exact_max=2, n_permutations=6, seed=4,
                       sampler="permutation")
    c = shapley_values(mixer, cases, exact_max=2, n_permutations=6, seed=5,
                       sampler="permutation")
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values[0, :8], c.values[0, :8])


def test_sampling_to_a_target_standard_error_stops_where_it_is_met():
    mixer = small_mixer(n_layers=3, layer_norm=True)
    cases = make_cases(sizes=(10, 9, 8), balance=(-1, -1, -1), seed=3)
    exact = shapley_values(mixer, cases)
    target = 0.08
    result = shapley_values(mixer, cases, exact_max=0, n_permutations=4096,
                            target_std_error=target, seed=2, sampler="permutation")
    spread = np.abs(result.prediction - result.baseline)
    drawn = result.permutations
    assert set(drawn.tolist()) <= {64, 128, 256, 512, 1024, 2048, 4096}
    assert drawn.max() > 64 and drawn.max() < 4096  # more rounds where needed, below the cap
    assert len(set(drawn.tolist())) > 1  # each case stops on its own
    for row, size in enumerate((10, 9, 8)):
        se = result.std_errors[row, :size]
        assert se.max() <= target * spread[row]
        z = np.abs(result.values[row, :size] - exact.values[row, :size]) / se
        assert z.max() < 4.5
    assert np.abs(result.completeness_error).max() < 1e-12
    capped = shapley_values(mixer, cases, exact_max=0, n_permutations=128,
                            target_std_error=1e-9, seed=2, sampler="permutation")
    assert (capped.permutations == 128).all()


def test_mixed_exact_and_sampled():
    mixer = small_mixer()
    cases = make_cases()
    result = shapley_values(mixer, cases, exact_max=4, n_permutations=64,
                            sampler="permutation")
    assert result.method == "shapley"
    assert result.exact.tolist() == [True, False, True, False]
    assert (result.std_errors[0, :4] == 0).all() and (result.std_errors[1, :6] > 0).all()
    assert result.max_std_error[0] == 0
    assert np.abs(result.completeness_error).max() < 1e-12


def test_bad_arguments():
    cases = make_cases()
    with pytest.raises(ValueError, match="absence"):
        shapley_values(additive, cases, absence="gone")
    with pytest.raises(ValueError, match="n_permutations"):
        shapley_values(additive, cases, n_permutations=1)
    with pytest.raises(ValueError, match="target_std_error"):
        shapley_values(additive, cases, target_std_error=0.0)
    with pytest.raises(ValueError, match="sampler"):
        shapley_values(additive, cases, sampler="lime")


def test_kernel_sampler_agrees_with_exact_within_its_errors_at_14_players():
    mixer = small_mixer(n_layers=3, layer_norm=True)
    cases = make_cases(sizes=(14,), balance=(-1,), seed=3)
    exact = shapley_values(mixer, cases)
    sampled = shapley_values(mixer, cases, exact_max=9, n_permutations=64, seed=1)
    assert sampled.method == "shapley_sampled" and sampled.settings["sampler"] == "kernel"
    assert sampled.coalitions[0] < 2**14 // 10 and exact.coalitions[0] == 2**14
    se = sampled.std_errors[0, :14]
    assert (se > 0).all()
    error = np.abs(sampled.values[0, :14] - exact.values[0, :14])
    assert (error / se).max() < 4.5
    assert error.max() < 0.1 * np.abs(exact.values[0]).max()
    assert abs(sampled.completeness_error[0]) < 1e-9
    # the same model evaluations spent on permutations err more
    permutation = shapley_values(mixer, cases, exact_max=9, n_permutations=64, seed=1,
                                 sampler="permutation")
    assert permutation.coalitions[0] >= sampled.coalitions[0]
    assert error.max() < np.abs(permutation.values[0] - exact.values[0])[:14].max()


def test_kernel_sampler_enumerates_where_its_budget_covers_every_coalition():
    mixer = small_mixer()
    cases = make_cases(sizes=(6, 12), balance=(-1, -1), seed=1)
    result = shapley_values(mixer, cases, exact_max=0, n_permutations=64)
    assert result.exact.tolist() == [True, False]  # 64 x 5 > 2^6, 64 x 11 < 2^12
    exact = shapley_values(mixer, cases.select([0]))
    # float32 model: coalitions batched with another case's may round differently
    np.testing.assert_allclose(result.values[0, :6], exact.values[0, :6], atol=1e-6)


def test_kernel_sampler_to_a_target_standard_error_is_seeded():
    mixer = small_mixer(n_layers=3, layer_norm=True)
    cases = make_cases(sizes=(16, 13), balance=(-1, -1), seed=3)
    a = shapley_values(mixer, cases, exact_max=0, n_permutations=1024, target_std_error=0.05,
                       seed=2)
    b = shapley_values(mixer, cases, exact_max=0, n_permutations=1024, target_std_error=0.05,
                       seed=2)
    np.testing.assert_array_equal(a.values, b.values)
    spread = np.abs(a.prediction - a.baseline)
    for row, size in enumerate((16, 13)):
        met = a.std_errors[row, :size].max() <= 0.05 * spread[row]
        assert met or a.coalitions[row] >= 1024 * (size - 1)
    assert np.abs(a.completeness_error).max() < 1e-9


# -- interactions --------------------------------------------------------------------------------


def test_multiplied_pair_has_the_largest_interaction():
    cases = make_cases(sizes=(6,), balance=(-1,), seed=2)
    ids = cases.ids[0].tolist()
    a_slot, b_slot = 1, 4
    model = with_product(ids[a_slot], ids[b_slot], bonus=3.0)
    result = shapley_interactions(model, cases)
    assert isinstance(result, Interactions)
    amounts = cases.amounts[0].double().numpy()
    product = 3.0 * amounts[a_slot] * amounts[b_slot]
    values = result.values[0]
    np.testing.assert_allclose(values, values.T, atol=1e-12)
    # the pair's whole interaction is split equally between (a, b) and (b, a)
    assert values[a_slot, b_slot] == pytest.approx(product / 2, abs=1e-12)
    off = values[~np.eye(6, dtype=bool)]
    assert np.sum(np.abs(off) > 1e-9) == 2
    names = cases.ingredients[0]
    top = result.top_pairs(0, 2)
    assert top[0][:2] == (names[a_slot], names[b_slot])
    assert top[0][2] == pytest.approx(product / 2)
    # diagonal: main effects; rows sum to the Shapley values
    w = WEIGHTS[cases.ids[0]].numpy()
    np.testing.assert_allclose(np.diag(values), w * amounts, atol=1e-12)
    phi = shapley_values(model, cases).values[0]
    np.testing.assert_allclose(values.sum(1), phi, atol=1e-12)


def test_interactions_match_brute_force_on_a_mixer():
    mixer = small_mixer(layer_norm=True).double()
    cases = make_cases(sizes=(5, 3, 8), balance=(-1, -1, -1))
    result = shapley_interactions(mixer, cases, max_players=6)
    assert np.isnan(result.values[2]).all() and result.top_pairs(2) == []
    assert np.isnan(result.values[1, 3:]).all() and np.isnan(result.values[1, :, 3:]).all()
    n = 5
    one = slice(0, 1)

    def v(subset) -> float:
        mask = torch.zeros_like(cases.mask[one])
        mask[0, list(subset)] = True
        with torch.no_grad():
            return float(mixer(cases.property_ids[one], cases.ids[one], cases.amounts[one], mask))

    for i, j in combinations(range(n), 2):
        rest = [p for p in range(n) if p not in (i, j)]
        index = 0.0
        for k in range(n - 1):
            for s in combinations(rest, k):
                weight = factorial(k) * factorial(n - k - 2) / factorial(n - 1)
                index += weight * (v(s + (i, j)) - v(s + (i,)) - v(s + (j,)) + v(s))
        assert result.values[0, i, j] == pytest.approx(index / 2, abs=1e-9)
    total = np.nansum(result.values[0])
    assert total == pytest.approx(result.prediction[0] - result.baseline[0], abs=1e-12)


def test_exact_shapley_is_the_average_over_orderings():
    rng = np.random.default_rng(4)
    v = rng.normal(size=(3, 16))  # three games of four players
    got = exact_shapley(v, 4)
    expected = np.zeros((3, 4))
    orders = list(permutations(range(4)))
    for order in orders:
        subset = 0
        for j in order:
            expected[:, j] += v[:, subset | 1 << j] - v[:, subset]
            subset |= 1 << j
    np.testing.assert_allclose(got, expected / len(orders), rtol=0, atol=1e-12)
    np.testing.assert_allclose(exact_shapley(v[1], 4), got[1], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="2\\^4"):
        exact_shapley(v[:, :8], 4)
