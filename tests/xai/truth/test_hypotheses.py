from models.synth import generate
from xai.hypotheses.registry import NOT_SUPPORTED, SUPPORTED, Verdict
from xai.truth.hypotheses import compare, expected_verdicts

BAND = (-1.25, -0.75)


def test_the_synthetic_truth_expects_every_builtin_hypothesis_supported():
    truth = generate(seed=0, n_formulations=50).truth
    expected = expected_verdicts(truth, BAND)
    assert set(expected) == {
        "same_group_ingredients_closer", "same_group_properties_closer",
        "expert_swaps_preserve_predictions", "property_vector_helps_low_data",
        "property_token_reads_recipe", "trend_monotonic", "shear_thinning_slope"}
    assert all(e.expected == SUPPORTED for e in expected.values())
    assert "0.95" in expected["shear_thinning_slope"].reason


def test_a_slope_outside_the_band_and_cross_family_swaps_are_expected_to_fail():
    truth = generate(seed=0, n_formulations=50).truth
    truth["parameters"]["viscosity"]["spindles"]["4pin"]["slope"] = -0.3
    truth["substitutions"] = [{"ingredient": "a", "substitute": "b", "kind": "cross_family"}] * 3
    expected = expected_verdicts(truth, BAND)
    assert expected["shear_thinning_slope"].expected == NOT_SUPPORTED
    assert expected["trend_monotonic"].expected == SUPPORTED  # still falling with rpm
    assert expected["expert_swaps_preserve_predictions"].expected == NOT_SUPPORTED


def test_an_empty_truth_expects_nothing():
    assert expected_verdicts({}, BAND) == {}


def test_compare_marks_agreement_per_hypothesis():
    truth = generate(seed=0, n_formulations=50).truth
    found = [Verdict(SUPPORTED, name="trend_monotonic"),
             Verdict(NOT_SUPPORTED, name="shear_thinning_slope"),
             Verdict(SUPPORTED, name="not_in_the_truth")]
    result = compare(found, expected_verdicts(truth, BAND))
    assert set(result) == {"trend_monotonic", "shear_thinning_slope"}
    assert result["trend_monotonic"]["agrees"]
    assert not result["shear_thinning_slope"]["agrees"]
    assert result["shear_thinning_slope"]["found"] == NOT_SUPPORTED
