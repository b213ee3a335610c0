import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.data import Dataset
from models.reduction import merge_ingredients, merge_map, reduce_ingredients
from models.splits import kfold_splits
from models.synth import generate, write_dataset
from models.training import TrainConfig
from xai.commands import experiment_reduce

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 2, "n_heads": 2, "head_hidden": 16}


def hand_dataset() -> Dataset:
    formulations = pd.DataFrame({
        "formulation_id": ["F1", "F1", "F1", "F2", "F2"],
        "ingredient": ["A", "B", "C", "B", "D"],
        "amount": [10.0, 5.0, 85.0, 40.0, 60.0],
    })
    measurements = pd.DataFrame({"formulation_id": ["F1", "F2"], "property": ["p", "p"],
                                 "value": [1.0, 2.0]})
    return Dataset(root=Path("."), formulations=formulations, measurements=measurements)


def test_merging_renames_and_sums_duplicates_within_a_recipe():
    data = hand_dataset()
    merged = merge_ingredients(data, {"A": "C", "D": "B"})
    f1 = merged.recipe("F1")
    assert f1[0] == ["C", "B"]  # order of first appearance after renaming
    np.testing.assert_allclose(f1[1], [95.0, 5.0])
    assert merged.recipe("F2")[0] == ["B"]
    np.testing.assert_allclose(merged.recipe("F2")[1], [100.0])
    assert merged.ingredient_names == ["B", "C"]
    pd.testing.assert_frame_equal(merged.measurements, data.measurements)
    assert data.ingredient_names == ["A", "B", "C", "D"]  # the input is untouched
    assert merge_ingredients(data, {}) is data


def test_merge_map_nearest_and_group():
    codes = ["A", "B", "C", "D", "E"]
    counts = {"A": 0, "B": 1, "C": 5, "D": 3, "E": 2}
    vectors = {"A": np.array([0.0, 0.0]), "B": np.array([3.0, 0.0]), "C": np.array([1.0, 0.0]),
               "D": np.array([2.9, 0.0]), "E": np.array([-0.5, 0.0])}
    assert merge_map(codes, counts, 0, vectors=vectors) == ({}, [])
    # threshold 1: only A (count 0) is rare; E (distance 0.5) is nearer than C (1.0).
    assert merge_map(codes, counts, 1, vectors=vectors) == ({"A": "E"}, [])
    # threshold 3: A, B and E are rare; targets come only from C and D.
    assert merge_map(codes, counts, 3, vectors=vectors) == ({"A": "C", "B": "D", "E": "C"}, [])
    groups = {"A": "g1", "B": "g1", "C": "g1", "D": "g1", "E": "g2"}
    mapping, left = merge_map(codes, counts, 3, strategy="group", groups=groups)
    assert mapping == {"A": "C", "B": "C"}  # C is g1's most common frequent member
    assert left == ["E"]  # g2 has no frequent member
    with pytest.raises(ValueError, match="needs ingredient vectors"):
        merge_map(codes, counts, 1)
    with pytest.raises(ValueError, match="strategy"):
        merge_map(codes, counts, 1, strategy="cluster")


@pytest.fixture(scope="module")
def small(tiny_dataset):
    return tiny_dataset.subset(tiny_dataset.formulation_ids[:60])


@pytest.fixture(scope="module")
def result(small, tiny_model):
    return reduce_ingredients(small, thresholds=(1, 2), folds=2, seed=0,
                              train_config=TrainConfig(epochs=1), reference_model=tiny_model,
                              mixer_options=TINY)


def test_every_threshold_uses_the_same_folds_and_merges_only_rare_ingredients(small, result):
    assert result.thresholds == (0, 1, 2)
    assert len(result.records) == 2 * 3
    recipes = small.recipes()
    splits = kfold_splits(sorted(set(small.measurements["formulation_id"])), k=2, seed=0)
    for fold, split in enumerate(splits):
        counts = Counter(c for f in split.train for c in set(recipes[f][0]))
        mine = [r for r in result.records if r["fold"] == fold]
        assert len({r["test_digest"] for r in mine}) == 1
        assert {r["split"] for r in mine} == {split.method}
        by_t = {r["threshold"]: r for r in mine}
        assert by_t[0]["n_merged"] == 0
        for t, r in by_t.items():
            rare = {c for c in small.ingredient_names if counts[c] < t}
            assert set(r["merges"]) == rare
            assert all(counts[target] >= t for target in r["merges"].values())
            assert r["n_ingredients"] == len(small.ingredient_names) - r["n_merged"]
        assert by_t[2]["n_merged"] >= by_t[1]["n_merged"] > 0


def test_summary_differences_are_paired_against_no_merging(result):
    zero = result.per_threshold[0]
    assert zero["overall_difference"]["estimate"] == 0.0
    for t in (1, 2):
        s = result.per_threshold[t]
        mine = [r["overall_rmse"] for r in result.records if r["threshold"] == t]
        base = [r["overall_rmse"] for r in result.records if r["threshold"] == 0]
        assert s["overall_difference"]["estimate"] == pytest.approx(np.mean(mine) - np.mean(base))
        assert s["overall_difference"]["method"] == "t-corrected"
        assert s["overall_rmse"]["estimate"] == pytest.approx(np.mean(mine))
        assert set(s["properties"]) == set(result.records[0]["properties"])
    json.loads(json.dumps(result.to_dict()))


def test_group_strategy_and_bad_input(small):
    out = reduce_ingredients(small, thresholds=(1,), strategy="group", folds=2,
                             train_config=TrainConfig(epochs=1), mixer_options=TINY)
    groups = small.ingredient_groups()
    for r in out.records:
        assert all(groups[a] == groups[b] for a, b in r["merges"].items())
    assert out.settings["reference_model"] is None
    no_groups = Dataset(root=small.root, formulations=small.formulations,
                        measurements=small.measurements)
    with pytest.raises(ValueError, match="expert groups"):
        reduce_ingredients(no_groups, strategy="group", folds=2)
    with pytest.raises(ValueError, match="non-negative"):
        reduce_ingredients(small, thresholds=(-1,), folds=2)


def test_command_writes_reduction_json_and_prints_a_table(tmp_path, capsys):
    data = tmp_path / "data"
    write_dataset(generate(seed=1, n_formulations=50), data)
    config = tmp_path / "tiny.toml"
    config.write_text("[model]\n" + "".join(f"{k} = {v}\n" for k, v in TINY.items()))
    parser = argparse.ArgumentParser()
    experiment_reduce.add_arguments(parser)
    out = tmp_path / "out"
    args = parser.parse_args(["--data", str(data), "--out", str(out), "--thresholds", "2",
                              "--strategy", "group", "--folds", "2", "--epochs", "1",
                              "--config", str(config)])
    args.quiet = True
    assert args.run(args) == 0
    written = json.loads((out / "reduction.json").read_text())
    assert written["thresholds"] == [0, 2] and written["strategy"] == "group"
    assert written["settings"]["mixer_options"] == TINY
    assert written["settings"]["train_config"]["epochs"] == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "group merging, 2-fold cross-validation"
    assert lines[3].split()[0] == "0" and "reference" in lines[3]
    assert lines[4].split()[0] == "2" and "[" in lines[4]
    with pytest.raises(SystemExit):  # argparse refuses it: exit 2 with the usage line
        parser.parse_args(["--data", str(data), "--out", str(out), "--folds", "1"])
