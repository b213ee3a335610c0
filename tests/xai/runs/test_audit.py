"""The stage-2 audit behind ``xai report``, on the tiny model with the quick options."""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.pipeline import dataset_hash
from xai.runs.audit import jsonable, read_experiments
from xai.runs.settings import AuditSettings

SCHEMA = Path(__file__).parents[3] / "reports" / "schema" / "results.schema.json"


def test_results_are_strict_json_and_match_the_schema(tiny_audit):
    jsonschema = pytest.importorskip("jsonschema")
    results = tiny_audit.results
    text = json.dumps(results, allow_nan=False)  # NaN would fail here
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [f"{e.json_path}: {e.message}" for e in
              jsonschema.Draft202012Validator(schema).iter_errors(json.loads(text))]
    assert errors == []
    assert results["problems"] == []


def test_cases_are_capped_and_review_formulations_come_from_the_test_split(tiny_audit,
                                                                           tiny_model):
    r = tiny_audit.results
    sampled = r["attributions"]["sampled"]
    assert sampled["n_cases"] == 60 and sampled["n_candidates"] > 60
    review = r["review"]["cases"]
    assert len(review) == AuditSettings.quick().review_formulations
    assert {c["formulation_id"] for c in review} <= set(tiny_model.split.test)


def test_review_values_are_consistent_with_the_model(tiny_audit, tiny_model, tiny_dataset):
    for entry in tiny_audit.results["review"]["cases"]:
        codes, amounts = tiny_dataset.recipe(entry["formulation_id"])
        assert [r["ingredient"] for r in entry["recipe"]] == codes
        assert np.allclose([r["amount"] for r in entry["recipe"]], amounts)
        for prop in entry["properties"]:
            expected = tiny_model.predict([(codes, amounts)], [prop["property"]])[0]
            assert prop["predicted"] == pytest.approx(expected, rel=1e-4)
            phi = [r["shapley"] for r in prop["ingredients"] if r["shapley"] is not None]
            # Shapley values are efficient: they sum to f(recipe) - f(no player)
            gap = prop["prediction_model_units"] - prop["baseline_model_units"]
            assert sum(phi) == pytest.approx(gap, abs=1e-5)
            # ranks follow |value|, 1 = largest
            ranked = sorted((r for r in prop["ingredients"] if r["shapley"] is not None),
                            key=lambda r: r["shapley_rank"])
            sizes = [abs(r["shapley"]) for r in ranked]
            assert sizes == sorted(sizes, reverse=True) and ranked[0]["shapley_rank"] == 1
            # the balance ingredient (water) is not a player under "balance" absence
            balance = entry["balance_ingredient"]
            water = [r for r in prop["ingredients"] if r["ingredient"] == balance]
            assert all(r["ig"] is None and r["shapley"] is None for r in water)


def test_parity_points_reproduce_the_test_metrics(tiny_audit):
    accuracy = tiny_audit.results["accuracy"]
    for prop, points in accuracy["parity"].items():
        y, p = np.array(points["measured"]), np.array(points["predicted"])
        test = accuracy["properties"][prop]["test"]
        assert len(y) == test["n"]
        if len(y):
            assert math.sqrt(np.mean((y - p) ** 2)) == pytest.approx(test["rmse"], rel=1e-6)


def test_attribution_table_has_both_methods_for_every_ingredient_slot(tiny_audit):
    frame = tiny_audit.attributions
    r = tiny_audit.results["attributions"]
    assert set(frame["method"]) == {"ig", "shapley"}
    per_method = frame.groupby("method").size()
    assert per_method["ig"] == per_method["shapley"]
    cases = frame[["formulation_id", "property"]].drop_duplicates()
    assert len(cases) == r["sampled"]["n_cases"]
    assert {"group", "units", "attribution", "amount"} <= set(frame.columns)


def test_provenance_hashes(tiny_audit, tiny_checkpoint, tiny_dataset):
    p = tiny_audit.results["provenance"]
    digest = hashlib.sha256((tiny_checkpoint / "model.safetensors").read_bytes()).hexdigest()
    assert p["checkpoint"]["sha256"] == digest
    assert p["data"]["hash"] == dataset_hash(tiny_dataset)
    assert p["data"]["same_as_training"] is True
    assert p["packages"]["torch"] and p["seeds"]["audit"] == 0


def test_jsonable_turns_non_finite_numbers_into_null():
    value = {"a": np.float32(1.5), "b": [np.nan, np.inf, 2], "c": np.arange(2), 3: Path("x")}
    assert jsonable(value) == {"a": 1.5, "b": [None, None, 2], "c": [0, 1], "3": "x"}


def test_read_experiments(tmp_path):
    (tmp_path / "cv.json").write_text(json.dumps({"rmse": [1.0, 2.0]}))
    (tmp_path / "broken.json").write_text("{not json")
    found = read_experiments(tmp_path)
    assert found["available"] and list(found["results"]) == ["cv.json"]
    assert len(found["unreadable"]) == 1 and "broken.json" in found["unreadable"][0]
    assert read_experiments(None)["available"] is False


def test_every_audit_cross_checks_a_sample_against_shap_and_captum(tiny_audit):
    check = tiny_audit.results["attributions"]["reference_check"]
    shap, captum = check["shap"], check["captum"]
    assert shap["reference"] == "shap.KernelExplainer (every coalition)" and shap["n_cases"] > 0
    assert captum["reference"] == "captum.attr.IntegratedGradients"
    assert shap["absence"] == captum["absence"] == tiny_audit.results["attributions"]["absence"]
    largest = max(abs(v) for v in shap["reference_values"])
    assert shap["max_abs_difference"] < 1e-6 * max(largest, 1.0)  # exact against exact
    # the quick audit caps our IG at 32 steps: agreement to its own quadrature tolerance
    assert captum["max_abs_difference"] < 1e-2 * max(abs(v) for v in captum["reference_values"])
