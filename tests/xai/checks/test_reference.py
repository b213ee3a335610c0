"""shap's explainers, driven through the same coalition game, agree with our exact values."""

import numpy as np
import pytest
import torch

from models.mixer import MixerConfig, build_mixer
from xai.attribution.integrated_gradients import integrated_gradients
from xai.attribution.shapley import shapley_values
from xai.cases import random_cases
from xai.checks.reference import captum_reference, reference_check, shap_reference


def make_cases(sizes=(5, 4), balance=(1, -1), seed=0):
    return random_cases(sizes, balance, seed=seed, dtype=torch.float64)


def small_mixer():
    config = MixerConfig(n_ingredients=21, n_properties=2, base_dim=8, mixer_dim=16, n_layers=2,
                         n_heads=4, head_hidden=8)
    return build_mixer(config, seed=5).eval().double()


def additive(property_ids, ids, amounts, mask):
    return (torch.linspace(-1.0, 2.0, 21, dtype=torch.float64)[ids] * amounts * mask).sum(1)


@pytest.mark.parametrize("absence", ["removed", "balance"])
def test_kernel_agrees_with_exact(absence):
    # with 2^n - 2 samples or more KernelExplainer enumerates every coalition: exact values
    mixer = small_mixer()
    cases = make_cases()
    ours = shapley_values(mixer, cases, absence=absence)
    state = np.random.get_state()
    ref = shap_reference(mixer, cases, explainer="kernel", absence=absence)
    after = np.random.get_state()
    assert ref.method == "shap_kernel" and str(ref.absence) == absence
    np.testing.assert_allclose(ref.values, ours.values, rtol=0, atol=1e-8)  # NaN where ours is
    np.testing.assert_allclose(ref.prediction, ours.prediction, atol=1e-12)
    np.testing.assert_allclose(ref.baseline, ours.baseline, atol=1e-12)
    assert np.abs(ref.completeness_error).max() < 1e-8
    # the caller's global NumPy random state is left as it was
    assert all(np.array_equal(a, b) for a, b in zip(state[1:3], after[1:3], strict=True))


def test_kernel_with_few_samples_is_close():
    cases = make_cases(sizes=(9,), balance=(-1,), seed=2)
    mixer = small_mixer()
    ours = shapley_values(mixer, cases).values[0]
    ref = shap_reference(mixer, cases, explainer="kernel", nsamples=200, seed=1).values[0]
    assert np.abs(ref - ours).max() < 0.1 * np.abs(ours).max()


def test_unknown_explainer():
    with pytest.raises(ValueError, match="explainer"):
        shap_reference(small_mixer(), make_cases(), explainer="tree")


@pytest.mark.slow
def test_exact_and_permutation_explainers():
    # both compile numba code on first use, hence one slow test for the two
    cases = make_cases()
    mixer = small_mixer()
    ours = shapley_values(mixer, cases, absence="balance")
    ref = shap_reference(mixer, cases, explainer="exact", absence="balance")
    assert ref.method == "shap_exact"
    np.testing.assert_allclose(ref.values, ours.values, rtol=0, atol=1e-8)
    # every permutation is exact for an additive model
    perm = shap_reference(additive, cases, explainer="permutation", seed=3)
    assert perm.method == "shap_permutation"
    np.testing.assert_allclose(perm.values, shapley_values(additive, cases).values, atol=1e-10)


@pytest.mark.parametrize("absence", ["removed", "balance", "zero"])
def test_captum_agrees_with_our_integrated_gradients(absence):
    mixer = small_mixer()
    cases = make_cases(sizes=(6, 4, 5), balance=(1, -1, 0))
    ours = integrated_gradients(mixer, cases, absence=absence, tolerance=1e-9,
                                absolute_floor=1e-12, max_steps=1024)
    ref = captum_reference(mixer, cases, absence=absence, n_steps=256)
    assert ref.method == "captum_ig" and str(ref.absence) == absence
    np.testing.assert_allclose(ref.values, ours.values, rtol=0, atol=1e-8)  # NaN where ours is
    # the balance amount (total minus the players) is summed in another order: rounding
    np.testing.assert_allclose(ref.prediction, ours.prediction, rtol=0, atol=1e-7)
    np.testing.assert_allclose(ref.baseline, ours.baseline, rtol=0, atol=1e-7)
    assert np.abs(ref.delta).max() < 1e-8


@pytest.mark.slow
def test_reference_check_reports_both_references():
    mixer = small_mixer()
    cases = make_cases(sizes=(6, 4, 5, 3, 12), balance=(1, -1, 0, 0, 2), seed=4)
    shapley = shapley_values(mixer, cases, absence="balance", exact_max=10)
    ig = integrated_gradients(mixer, cases, absence="balance", tolerance=1e-9,
                              absolute_floor=1e-12, max_steps=1024)
    check = reference_check(mixer, cases, shapley=shapley, ig=ig, n_cases=3, max_players=8,
                            ig_steps=256, seed=1)
    assert set(check) == {"shap", "captum"}
    shap, captum = check["shap"], check["captum"]
    assert shap["reference"] == "shap.KernelExplainer (every coalition)"
    assert captum["reference"] == "captum.attr.IntegratedGradients" and captum["n_steps"] == 256
    for entry in (shap, captum):
        assert entry["absence"] == "balance" and entry["n_cases"] == 3
        assert len(entry["per_case_max_abs"]) == 3
        assert len(entry["ours"]) == len(entry["reference_values"]) > 0
        assert entry["max_abs_difference"] == max(entry["per_case_max_abs"])
    assert shap["max_abs_difference"] < 1e-8
    assert captum["max_abs_difference"] < 1e-8


def test_reference_check_without_a_small_case_is_unavailable():
    mixer = small_mixer()
    cases = make_cases(sizes=(9,), balance=(-1,))
    shapley = shapley_values(mixer, cases, exact_max=4, n_permutations=4)
    ig = integrated_gradients(mixer, cases, max_steps=8)
    check = reference_check(mixer, cases, shapley=shapley, ig=ig, max_players=8)
    assert check["shap"]["available"] is False and check["captum"]["available"] is False


def test_reference_check_samples_only_enumerated_cases():
    mixer = small_mixer()
    cases = make_cases(sizes=(3, 6, 4, 7), balance=(-1, -1, -1, -1))
    shapley = shapley_values(mixer, cases, absence="removed", exact_max=4, n_permutations=8)
    ig = integrated_gradients(mixer, cases, absence="removed")
    check = reference_check(mixer, cases, shapley=shapley, ig=ig, n_cases=50, max_players=10)
    assert check["shap"]["n_cases"] == int(shapley.exact.sum()) < len(cases)
    assert check["shap"]["max_abs_difference"] < 1e-8
