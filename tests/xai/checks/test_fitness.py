"""Fitness verdicts: each documented rule on hand-made results, and the demo-sized audit."""

import pytest

from xai.checks.fitness import (
    CARE,
    FIT,
    MIN_TEST,
    NOT_FIT,
    R2_FIT,
    SMALL_SAMPLE,
    fitness_verdicts,
)


def _results(test: dict, *, baseline_rmse=None, sanity_passed=True, transform="identity",
             coverage=None):
    results = {
        "data": {"property_transforms": {"p": transform}},
        "accuracy": {"properties": {"p": {"test": {"n": 100, "rmse": 1.0, "r2": 0.9,
                                                   **test}}}},
        "attributions": {"quality": {
            "completeness": {"shapley": {"share_within_tolerance": 1.0}},
            "sanity_check": {"ig": {"passed": sanity_passed}}}},
    }
    if coverage is not None:  # as the audit stores the held-out coverage of the intervals
        results["accuracy"]["conformal"] = {"nominal": 0.9, "method": "cv+", "properties": {
            "p": {"n": 100, "coverage": coverage, "median_width": 1.0}}}
    if baseline_rmse is not None:
        results["accuracy"]["baselines"] = {"best": {"p": "ridge"},
                                            "models": {"ridge": {"p": {"rmse": baseline_rmse}}}}
    return results


def _verdict(results) -> dict:
    return fitness_verdicts(results)["properties"]["p"]


@pytest.mark.parametrize(("test", "baseline", "expected", "words"), [
    ({}, None, FIT, "test R\u00b2 0.90 on 100"),
    ({}, 0.99, CARE, "slightly lower test RMSE"),
    ({}, 0.5, NOT_FIT, "ridge has a test RMSE 50% lower"),
    ({"r2": -0.13, "n": 9}, None, NOT_FIT, "worse than predicting the training mean"),
    ({"r2": R2_FIT - 0.1}, None, CARE, f"below {R2_FIT:g}"),
    ({"n": MIN_TEST - 1}, None, CARE, f"small sample: only {MIN_TEST - 1} test"),
    ({"oracle_r2": 0.99, "r2": 0.7}, None, CARE, "of the oracle's 0.99"),
])
def test_each_rule_decides_with_its_reason(test, baseline, expected, words):
    v = _verdict(_results(test, baseline_rmse=baseline))
    assert v["verdict"] == expected
    assert words in v["reason"]


@pytest.mark.parametrize(("coverage", "expected"), [(0.7, CARE), (0.86, FIT), (None, FIT)])
def test_interval_coverage_below_nominal_calls_for_care(coverage, expected):
    v = _verdict(_results({}, coverage=coverage))
    assert v["verdict"] == expected
    assert ("intervals cover 70%" in v["reason"]) == (coverage == 0.7)


def test_the_worst_rule_wins_and_every_reason_is_kept():
    v = _verdict(_results({"r2": -0.13, "n": 9}, baseline_rmse=0.5))
    assert v["verdict"] == NOT_FIT
    assert len(v["reasons"]) >= 3 and v["small_sample"]


def test_a_failed_attribution_check_weighs_on_every_property():
    verdicts = fitness_verdicts(_results({}, sanity_passed=False))
    assert verdicts["properties"]["p"]["verdict"] == CARE
    assert any("randomisation check" in c for c in verdicts["caveats"])


def test_log_properties_are_judged_on_the_logarithms():
    v = _verdict(_results({"r2": 0.3, "r2_log": 0.95}, transform="log"))
    assert v["verdict"] == FIT and v["r2"] == 0.95


def test_three_caveats_at_most_and_no_verdict_without_accuracy():
    results = _results({"r2": -1.0, "n": 3}, sanity_passed=False)
    results["options"] = {"baselines": False}
    results["problems"] = ["x: failed"]
    verdicts = fitness_verdicts(results)
    assert len(verdicts["caveats"]) == 3
    assert verdicts["caveats"][0].startswith("Not fit for use on 1 of 1")
    assert verdicts["small_sample"] == SMALL_SAMPLE
    assert fitness_verdicts({})["available"] is False


def test_the_audit_holds_a_verdict_per_property(tiny_audit):
    verdicts = tiny_audit.results["verdicts"]
    assert set(verdicts["properties"]) == set(tiny_audit.results["accuracy"]["properties"])
    assert all(v["verdict"] in (FIT, CARE, NOT_FIT) and v["reason"]
               for v in verdicts["properties"].values())
    assert 1 <= len(verdicts["caveats"]) <= 3 and verdicts["rules"]
