"""Models apply to any folder of recipes: the recorded test split only on the training data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from models.checkpoint import load_model
from models.data import load_dataset
from models.fingerprint import ALL_FORMULATIONS, TEST_SPLIT, analysis_scope, is_training_data
from models.synth import generate, write_dataset
from xai.cli import main

FAST_EXPLAIN = ["--exact-max", "6", "--permutations", "4", "--quiet"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_toml):
    """Training data, a checkpoint, a folder of 24 recipes the model never saw (held-out
    recipes with new ids and changed amounts, measured) and one of 4 recipes with
    formulations.csv only."""
    root = tmp_path_factory.mktemp("new-recipes")
    data, model = root / "data", root / "model"
    write_dataset(generate(seed=5, n_formulations=160), data)
    (root / "tiny.toml").write_text(tiny_toml(seed=0))
    # a single model with a held-out test split (the small-data default would refit on all)
    assert main(["train", "--data", str(data), "--out", str(model), "--config",
                 str(root / "tiny.toml"), "--ensemble", "1", "--no-refit", "--quiet"]) == 0
    test_ids = list(load_model(model).split.test)[:24]
    formulations = pd.read_csv(data / "formulations.csv", dtype={"formulation_id": str})
    measurements = pd.read_csv(data / "measurements.csv", dtype={"formulation_id": str})
    new = root / "new"
    new.mkdir()
    f = formulations[formulations["formulation_id"].isin(test_ids)].copy()
    f["amount"] = f["amount"] * 1.05
    f["formulation_id"] = "new-" + f["formulation_id"]
    f.to_csv(new / "formulations.csv", index=False)
    m = measurements[measurements["formulation_id"].isin(test_ids)].copy()
    m["formulation_id"] = "new-" + m["formulation_id"]
    m.to_csv(new / "measurements.csv", index=False)
    only = root / "recipes-only"
    only.mkdir()
    few = f[f["formulation_id"].isin(sorted(set(f["formulation_id"]))[:4])]
    few.to_csv(only / "formulations.csv", index=False)
    return {"root": root, "data": data, "model": model, "new": new, "only": only}


def _valid(results: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = Path(__file__).parents[3] / "reports" / "schema" / "results.schema.json"
    jsonschema.validate(results, json.loads(schema.read_text()))


def _strict(path):
    return json.loads(path.read_text(), parse_constant=lambda t: pytest.fail(t))


def test_the_fingerprint_tells_training_data_from_new_data(folders):
    model = load_model(folders["model"])
    assert "data_hash" in model.provenance
    train = load_dataset(folders["data"])
    assert is_training_data(model, train) is True
    scope = analysis_scope(model, train)
    assert scope.pool == TEST_SPLIT and set(scope.formulation_ids) == set(model.split.test)
    new = load_dataset(folders["new"])
    assert is_training_data(model, new) is False
    scope = analysis_scope(model, new)
    assert scope.pool == ALL_FORMULATIONS and len(scope.formulation_ids) == 24
    assert "not the data the model was trained on" in scope.reason


def test_explain_on_new_recipes_needs_no_flag(folders, tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["explain", "--model", str(folders["model"]), "--data", str(folders["new"]),
                 "--out", str(out), "--exact-max", "6", "--permutations", "4"]) == 0
    assert "24 formulations (all formulations)" in capsys.readouterr().err
    settings = _strict(out / "explain.json")["settings"]
    assert settings["scope"]["pool"] == ALL_FORMULATIONS
    assert settings["scope"]["training_data"] is False
    assert settings["n_formulations"] == 24
    # on the training data the default is still the held-out test split
    assert main(["explain", "--model", str(folders["model"]), "--data", str(folders["data"]),
                 "--out", str(tmp_path / "ex2"), *FAST_EXPLAIN]) == 0
    scope = _strict(tmp_path / "ex2" / "explain.json")["settings"]["scope"]
    assert scope["pool"] == TEST_SPLIT and scope["training_data"] is True


def test_represent_and_report_on_new_recipes(folders, tmp_path):
    rep = tmp_path / "rep"
    assert main(["represent", "--model", str(folders["model"]), "--data", str(folders["new"]),
                 "--out", str(rep), "--layout", "pca", "--permutations", "19", "--bootstrap",
                 "50", "--random-donors", "2", "--quiet"]) == 0
    represent = _strict(rep / "represent.json")
    assert represent["scope"]["pool"] == ALL_FORMULATIONS
    assert represent["settings"]["n_formulations"] == 24
    report = tmp_path / "report"
    assert main(["report", "--model", str(folders["model"]), "--data", str(folders["new"]),
                 "--out", str(report), "--quick", "--quiet"]) == 0
    results = _strict(report / "results.json")
    _valid(results)
    assert results["scope"]["pool"] == ALL_FORMULATIONS
    assert results["accuracy"]["split"]["method"] == "new data"
    assert results["accuracy"]["split"]["n_test"] == 24
    assert results["attributions"]["sampled"]["pool"] == ALL_FORMULATIONS


def test_predict_and_explain_on_recipes_without_measurements(folders, tmp_path):
    model = load_model(folders["model"])
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(folders["model"]), "--data", str(folders["only"]),
                 "--out", str(out), "--quiet"]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 4 * len(model.properties)
    assert frame["prediction"].notna().all()
    ex = tmp_path / "ex"
    assert main(["explain", "--model", str(folders["model"]), "--data", str(folders["only"]),
                 "--out", str(ex), *FAST_EXPLAIN]) == 0
    settings = _strict(ex / "explain.json")["settings"]
    assert settings["n_formulations"] == 4
    assert settings["n_cases"] == 4 * len(model.properties)
    assert settings["scope"]["training_data"] is False


def test_a_checkpoint_without_a_fingerprint_keeps_the_older_rule(folders):
    model = load_model(folders["model"])
    model.provenance = {}
    train, new = load_dataset(folders["data"]), load_dataset(folders["new"])
    assert is_training_data(model, train) is None
    scope = analysis_scope(model, train)  # every test formulation is in the folder
    assert scope.pool == TEST_SPLIT and scope.training_data is None
    assert analysis_scope(model, new).pool == ALL_FORMULATIONS
