"""Baselines: bag-of-amounts features, target transforms, and the Mixer's own split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.baselines import (
    BASELINES,
    bag_of_amounts,
    baseline_metrics,
    fit_baselines,
    predict_baselines,
)
from models.data import load_dataset
from models.experiments import Task, score_split, split_digest
from models.pipeline import measured_formulations
from models.splits import random_split
from models.training import TrainConfig

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}


def test_bag_of_amounts_sums_and_skips_unknown_codes():
    recipes = {"a": (["x", "y"], np.array([1.0, 2.0])), "b": (["y", "z"], np.array([3.0, 4.0]))}
    matrix = bag_of_amounts(recipes, ["b", "a"], ["x", "y"])
    np.testing.assert_array_equal(matrix, [[0.0, 3.0], [1.0, 2.0]])


@pytest.fixture(scope="module")
def linear_dataset(tmp_path_factory):
    """Three ingredients; ``visc`` is exp(linear) with a log transform, ``lin`` is linear."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("linear")
    rows, measured = [], []
    for i in range(80):
        amounts = rng.uniform(0, 10, size=3)
        fid = f"R{i:03d}"
        rows += [(fid, code, a) for code, a in zip("ABC", amounts, strict=True)]
        measured.append((fid, "visc", float(np.exp(0.3 * amounts[0] - 0.2 * amounts[1] + 1))))
        measured.append((fid, "lin", float(2 * amounts[0] + 3 * amounts[2])))
    pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"]).to_csv(
        folder / "formulations.csv", index=False)
    pd.DataFrame(measured, columns=["formulation_id", "property", "value"]).to_csv(
        folder / "measurements.csv", index=False)
    pd.DataFrame({"property": ["visc", "lin"], "group": ["", ""],
                  "transform": ["log", ""]}).to_csv(folder / "properties.csv", index=False)
    return load_dataset(folder)


def test_ridge_fits_the_log_of_a_log_property(linear_dataset):
    split = random_split(measured_formulations(linear_dataset), seed=1)
    metrics = fit_baselines(linear_dataset, split, seed=0, names=["ridge"])["ridge"]
    # Exactly linear in log space (visc) and in original units (lin): ridge gets both.
    assert metrics["visc"]["r2"] > 0.995
    assert metrics["lin"]["r2"] > 0.999
    assert metrics["visc"]["n"] == len(split.test)
    assert metrics["visc"]["rmse"] < 0.05 * metrics["visc"]["mean_predictor_rmse"]


def test_unknown_baseline_is_an_error(linear_dataset):
    split = random_split(measured_formulations(linear_dataset), seed=1)
    with pytest.raises(ValueError, match="unknown baselines"):
        fit_baselines(linear_dataset, split, seed=0, names=["svm"])


def test_baselines_see_the_mixers_split(tiny_dataset, tiny_model):
    split = tiny_model.split
    fitted = predict_baselines(tiny_dataset, split, seed=0, names=["ridge"])
    assert fitted.train_ids == split.train and fitted.test_ids == split.test
    assert set(fitted.test_rows["formulation_id"]) <= set(split.test)
    result = baseline_metrics(tiny_dataset, split, seed=0)
    assert set(result["models"]) == set(BASELINES)
    mixer_tests = {p: m["test"] for p, m in tiny_model.metrics["properties"].items()}
    for name, per_property in result["models"].items():
        for prop, entry in per_property.items():
            mixer = mixer_tests[prop]
            assert set(entry) <= set(mixer), name
            # Same test rows and same training rows give the same counts and the very same
            # mean-predictor score as the Mixer's evaluation.
            assert entry["n"] == mixer["n"]
            assert entry["mean_predictor_rmse"] == pytest.approx(mixer["mean_predictor_rmse"])
    assert set(result["best"]) <= set(mixer_tests)
    assert all(name in BASELINES for name in result["best"].values())
    assert result["split"]["n_test"] == len(split.test)


def test_fits_run_at_once_predict_what_one_at_a_time_does(tiny_dataset, tiny_model):
    one = predict_baselines(tiny_dataset, tiny_model.split, seed=0, jobs=1)
    two = predict_baselines(tiny_dataset, tiny_model.split, seed=0, jobs=2)
    assert len(set(one.test_rows["property"])) > 1
    for name in BASELINES:
        assert np.isfinite(one.predictions[name]).any(), name
        np.testing.assert_array_equal(one.predictions[name], two.predictions[name])


def test_score_split_fits_every_model_on_the_task_split(tiny_dataset):
    split = random_split(measured_formulations(tiny_dataset), seed=3)
    record = score_split(tiny_dataset, Task(split=split, mixer_options=TINY,
                                            train_config=TrainConfig(epochs=1),
                                            baselines=("ridge", "gradient_boosting")))
    expected = split_digest(split.train, split.validation, split.test)
    assert record["split"]["digest"] == expected
    assert record["split_digests"] == dict.fromkeys(["mixer", "ridge", "gradient_boosting"],
                                                    expected)
    mixer, ridge = record["models"]["mixer"], record["models"]["ridge"]
    for prop in ridge:
        assert ridge[prop]["n"] == mixer[prop]["n"]


def test_the_command_line_offers_exactly_the_fitted_baselines():
    from models.baselines import BASELINES
    from models.choices import BASELINES as NAMES

    assert tuple(BASELINES) == NAMES
