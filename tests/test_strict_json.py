"""Every JSON file the command line writes is strict JSON: no NaN or Infinity tokens."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.io import dumps_json, strict_json, write_json
from xai.cli import main

TINY_CONFIG = """
[model]
base_dim = 8
mixer_dim = 16
n_layers = 2
n_heads = 2
head_hidden = 16

[train]
epochs = 4
seed = 0
"""


def _reject(token: str):
    raise ValueError(f"non-strict JSON token {token}")


def test_non_finite_numbers_are_written_as_null(tmp_path):
    data = {"a": float("nan"), "b": [np.inf, -np.inf, 1.5], "c": np.array([np.nan, 2.0]),
            "d": np.float32("nan"), 3: (np.int64(4), None)}
    assert strict_json(data) == {"a": None, "b": [None, None, 1.5], "c": [None, 2.0],
                                 "d": None, "3": [4, None]}
    write_json(tmp_path / "x.json", data)
    parsed = json.loads((tmp_path / "x.json").read_text(), parse_constant=_reject)
    assert parsed["b"] == [None, None, 1.5]
    assert json.loads(dumps_json(data, compact=True), parse_constant=_reject)["c"] == [None, 2.0]
    assert math.isfinite(json.loads(dumps_json({"x": 1e308}))["x"])


@pytest.mark.slow
def test_every_json_output_of_the_pipeline_is_strict(tmp_path):
    data, model = tmp_path / "data", tmp_path / "model"
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    steps = [
        ["synth", "--out", str(data), "--formulations", "150", "--seed", "3"],
        ["train", "--data", str(data), "--out", str(model), "--config", str(config)],
        ["explain", "--model", str(model), "--data", str(data), "--out", str(tmp_path / "ex"),
         "--exact-max", "6", "--permutations", "4"],
        ["represent", "--model", str(model), "--data", str(data), "--out",
         str(tmp_path / "rep"), "--permutations", "19", "--bootstrap", "50",
         "--random-donors", "2", "--layout", "pca"],
        ["report", "--model", str(model), "--data", str(data), "--out", str(tmp_path / "report"),
         "--quick"],
        ["design", "--model", str(model), "--data", str(data), "--out", str(tmp_path / "design"),
         "--target", "ph=5..6.5", "--budget", "100", "--pop-size", "50", "--n", "3",
         "--baselines", "none"],
    ]
    for argv in steps:
        assert main([*argv, "--quiet"]) == 0, argv
    files = sorted(tmp_path.rglob("*.json"))
    names = {f.name for f in files}
    assert {"metrics.json", "explain.json", "represent.json", "results.json",
            "truth.json", "design.json"} <= names
    for file in files:
        json.loads(file.read_text(), parse_constant=_reject)  # raises on NaN / Infinity
    # the small-data default trained an ensemble on all recipes; its report still fits the schema
    jsonschema = pytest.importorskip("jsonschema")
    schema = Path(__file__).parent.parent / "reports" / "schema" / "results.schema.json"
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    jsonschema.validate(results, json.loads(schema.read_text()))
    assert results["accuracy"]["plan"]["ensemble"] == 5
