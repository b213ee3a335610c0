"""Cross-validation, learning curves, ablations and the statistics they report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.ablation import ablation, parse_variant
from models.cv import cross_validate, cv_splits
from models.data import Dataset
from models.experiments import (
    Task,
    paired_difference,
    relative_rmse,
    run_tasks,
    split_digest,
)
from models.learning_curve import learning_curve, nested_training_sets
from models.pipeline import measured_formulations
from models.rare_ingredients import RARE, cut_rare_ingredients
from models.splits import random_split
from models.training import TrainConfig

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}
ONE_EPOCH = TrainConfig(epochs=1)


# ------------------------------------------------------------------------------- statistics


def test_paired_difference_matches_the_paired_t_test():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 0.2, size=8)
    b = a + rng.normal(0.1, 0.05, size=8)
    result = paired_difference(a, b, confidence=0.9)
    assert result["n"] == 8
    assert result["mean"] == pytest.approx(np.mean(a - b))
    assert result["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    half = stats.t.ppf(0.95, 7) * np.std(a - b, ddof=1) / math.sqrt(8)
    assert result["ci"] == pytest.approx([np.mean(a - b) - half, np.mean(a - b) + half])
    assert result["ci"][1] < 0 and result["verdict"] == "a lower"


def test_corrected_interval_is_wider_and_drives_the_verdict():
    a = np.array([1.00, 1.02, 0.97, 1.01, 0.99])
    b = a + np.array([0.03, 0.05, 0.02, 0.06, 0.01])
    plain = paired_difference(a, b)
    corrected = paired_difference(a, b, test_train_ratio=4.0)
    lo, hi = corrected["ci_corrected"]
    assert lo < plain["ci"][0] and hi > plain["ci"][1]
    assert math.isclose(plain["ci"][0] + plain["ci"][1], lo + hi)  # same centre
    assert plain["verdict"] == "a lower" and corrected["verdict"] == "no clear difference"


def test_paired_difference_drops_incomplete_pairs():
    result = paired_difference([1.0, np.nan, 3.0, 2.0], [0.5, 1.0, np.nan, 1.0])
    assert result["n"] == 2 and result["mean"] == pytest.approx(0.75)
    assert paired_difference([1.0], [2.0])["verdict"] == "too few splits"


def test_relative_rmse_averages_ratios_over_properties():
    record = {"models": {"m": {
        "p": {"rmse": 1.0, "mean_predictor_rmse": 2.0},
        "q": {"rmse": 3.0, "mean_predictor_rmse": 4.0},
        "r": {"rmse": float("nan"), "mean_predictor_rmse": 1.0},
    }}}
    assert relative_rmse(record, "m") == pytest.approx((0.5 + 0.75) / 2)
    assert math.isnan(relative_rmse(record, "other"))


# ------------------------------------------------------------------------------- splits


def test_cv_splits_test_every_formulation_once_per_repeat():
    ids = [f"F{i:02d}" for i in range(30)]
    pairs = cv_splits(ids, folds=3, seeds=2, seed=5)
    assert [labels for labels, _ in pairs] == [{"repeat": r, "fold": f} for r in range(2)
                                               for f in range(3)]
    for r in range(2):
        tests = [set(s.test) for labels, s in pairs if labels["repeat"] == r]
        assert set().union(*tests) == set(ids) and sum(map(len, tests)) == len(ids)
    assert pairs[0][1].test != pairs[3][1].test  # the second repeat is reshuffled
    assert len(cv_splits(ids, method="random", seeds=4)) == 4


def test_nested_training_sets_share_validation_and_test():
    split = random_split([f"F{i:03d}" for i in range(100)], seed=0)
    parts = nested_training_sets(split, [0.1, 0.5, 1.0], seed=2)
    sizes = [len(p.train) for p in parts]
    assert sizes == [7, 35, 70]
    assert set(parts[0].train) < set(parts[1].train) < set(parts[2].train) == set(split.train)
    assert all(p.test == split.test and p.validation == split.validation for p in parts)


# ------------------------------------------------------------------------------- rare cut


def _toy_dataset() -> Dataset:
    rows = [("A", "w", 90.0), ("A", "x", 5.0), ("A", "y", 5.0),
            ("B", "w", 80.0), ("B", "x", 20.0),
            ("C", "w", 70.0), ("C", "z", 20.0), ("C", "v", 10.0),
            ("D", "y", 60.0), ("D", "z", 40.0)]
    formulations = pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"])
    measurements = pd.DataFrame({"formulation_id": list("ABCD"), "property": "p",
                                 "value": [1.0, 2.0, 3.0, 4.0]})
    return Dataset(root=Path("."), formulations=formulations, measurements=measurements)


def test_merge_counts_training_recipes_only():
    data = _toy_dataset()
    # Training recipes A, B, C: w 3, x 2, y 1, z 1, v 1; D (test) does not count.
    cut = cut_rare_ingredients(data, ["A", "B", "C"], min_count=2, mode="merge")
    recipes = cut.recipes()
    assert recipes["A"][0] == ["w", "x", RARE] and list(recipes["A"][1]) == [90.0, 5.0, 5.0]
    assert recipes["C"][0] == ["w", RARE] and list(recipes["C"][1]) == [70.0, 30.0]
    assert recipes["D"][0] == [RARE] and list(recipes["D"][1]) == [100.0]
    assert cut.ingredient_names == sorted(["w", "x", RARE])
    assert _toy_dataset().recipes()["C"][0] == ["w", "z", "v"]  # the input is untouched


def test_threshold_one_cuts_only_ingredients_unseen_in_training():
    cut = cut_rare_ingredients(_toy_dataset(), ["A", "B"], min_count=1, mode="merge")
    recipes = cut.recipes()
    assert recipes["A"][0] == ["w", "x", "y"]
    assert recipes["C"][0] == ["w", RARE] and list(recipes["C"][1]) == [70.0, 30.0]


def test_drop_removes_rows_but_never_a_whole_recipe():
    cut = cut_rare_ingredients(_toy_dataset(), ["A", "B", "C"], min_count=2, mode="drop")
    recipes = cut.recipes()
    assert recipes["A"][0] == ["w", "x"] and recipes["C"][0] == ["w"]
    assert recipes["D"][0] == [RARE] and list(recipes["D"][1]) == [100.0]
    assert list(recipes) == list("ABCD")


def test_parse_variant():
    assert parse_variant("amount_encoding=fourier").mixer_options == {"amount_encoding": "fourier"}
    assert parse_variant("layer_norm=on").mixer_options == {"layer_norm": True}
    assert parse_variant("layer_norm=on").name == "layer_norm=true"
    assert parse_variant("rare_cut=2").rare_cut == 2
    for bad in ("amount_encoding=log", "colour=red", "rare_cut=0", "layer_norm"):
        with pytest.raises(ValueError):
            parse_variant(bad)


# ------------------------------------------------------------------------------- experiments


def test_cross_validate_keeps_every_fold_and_compares(tiny_dataset):
    result = cross_validate(tiny_dataset, folds=3, seed=1, mixer_options=TINY,
                            train_config=ONE_EPOCH, baselines=["ridge"], progress=False)
    records = result["records"]
    assert [r["labels"] for r in records] == [{"repeat": 0, "fold": f} for f in range(3)]
    for r in records:
        assert set(r["split_digests"].values()) == {r["split"]["digest"]}
    tested = sum(r["split"]["n_test"] for r in records)
    assert tested == len(measured_formulations(tiny_dataset))
    ph = result["properties"]["ph"]
    assert len(ph["rmse"]["mixer"]) == len(ph["rmse"]["ridge"]) == 3
    assert ph["rmse"]["mixer"][1] == records[1]["models"]["mixer"]["ph"]["rmse"]
    c = ph["comparison"]
    assert c["baseline"] == "ridge" and c["n"] == 3
    assert c["mean"] == pytest.approx(np.mean(np.subtract(ph["rmse"]["mixer"],
                                                          ph["rmse"]["ridge"])))
    assert c["ci_corrected"][0] <= c["mean"] <= c["ci_corrected"][1]
    assert result["overall"]["comparison"]["baseline"] == "ridge"
    json.dumps(result)  # JSON-able (NaN allowed)


def test_learning_curve_trains_on_nested_shares(tiny_dataset):
    result = learning_curve(tiny_dataset, fractions=[1.0, 0.25], seeds=1, mixer_options=TINY,
                            train_config=ONE_EPOCH, baselines=["ridge"], progress=False)
    assert result["fractions"] == [0.25, 1.0]
    n_train = result["n_train"]
    assert n_train[0] == round(0.25 * n_train[1])
    tests = {r["split"]["n_test"] for r in result["records"]}
    assert tests == {result["n_test"]}
    assert len(result["relative_rmse"]["ridge"]) == 2
    assert len(result["properties"]["ph"]["rmse"]["mixer"][0]) == 1
    json.dumps(result)


def test_ablation_pairs_variants_on_the_same_splits(tiny_dataset):
    result = ablation(tiny_dataset, variants=["rare_cut=2", "code_activation=tanh"], folds=2,
                      mixer_options=TINY, train_config=ONE_EPOCH, progress=False)
    assert result["variants"] == ["default", "rare_cut=2", "code_activation=tanh"]
    digests = {}
    for r in result["records"]:
        digests.setdefault(r["labels"]["split"], set()).add(r["split"]["digest"])
        assert set(r["models"]) == {"mixer"}
    assert len(digests) == 2 and all(len(d) == 1 for d in digests.values())
    comparison = result["overall"]["comparison"]["rare_cut=2"]
    values = result["overall"]["relative_rmse"]
    assert comparison["mean"] == pytest.approx(np.mean(np.subtract(values["rare_cut=2"],
                                                                   values["default"])))
    assert set(result["properties"]["ph"]["comparison"]) == {"rare_cut=2", "code_activation=tanh"}


@pytest.mark.slow  # two spawned workers each import torch
def test_parallel_runs_match_serial_runs(tiny_dataset):
    ids = measured_formulations(tiny_dataset)
    tasks = [Task(split=random_split(ids, seed=s), mixer_options=TINY, train_config=ONE_EPOCH,
                  baselines=(), labels={"seed": s}) for s in (0, 1)]
    serial = run_tasks(tiny_dataset, tasks, jobs=1, progress=False)
    parallel = run_tasks(tiny_dataset, tasks, jobs=2, progress=False)
    assert [r["labels"] for r in parallel] == [{"seed": 0}, {"seed": 1}]
    for a, b in zip(serial, parallel, strict=True):
        assert a["split"]["digest"] == b["split"]["digest"] == split_digest(
            *(getattr(tasks[a["labels"]["seed"]].split, p) for p in ("train", "validation",
                                                                       "test")))
        for prop, entry in a["models"]["mixer"].items():
            assert b["models"]["mixer"][prop]["rmse"] == pytest.approx(entry["rmse"], rel=1e-4,
                                                                        nan_ok=True)
