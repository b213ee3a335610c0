"""Extrapolation splits (leave ingredients out, leave a group out, by size) and the ideal-mixing
baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.baselines import BASELINES
from models.structured_splits import structured_splits
from xai.cli import main


def test_leaving_ingredients_out_keeps_them_out_of_training(tiny_dataset):
    pairs = structured_splits(tiny_dataset, "ingredient", folds=4, seed=0)
    assert len(pairs) == 4
    recipes = tiny_dataset.recipes()
    tested = set()
    for labels, split in pairs:
        train_codes = {c for f in (*split.train, *split.validation) for c in recipes[f][0]}
        test_codes = {c for f in split.test for c in recipes[f][0]}
        held = test_codes - train_codes
        assert held  # the fold's ingredients occur only in its test recipes
        assert all(any(c in held for c in recipes[f][0]) for f in split.test)
        assert "ingredients fold" in labels["held_out"]
        tested |= held
    assert len(tested) >= 4


def test_leaving_a_group_out_and_splitting_by_size(tiny_dataset):
    groups = tiny_dataset.ingredient_groups()
    recipes = tiny_dataset.recipes()
    pairs = structured_splits(tiny_dataset, "group", seed=0)
    assert pairs
    for labels, split in pairs:
        group = labels["held_out"].removeprefix("group ")
        assert not any(groups.get(c) == group for f in split.train for c in recipes[f][0])
        assert all(any(groups.get(c) == group for c in recipes[f][0]) for f in split.test)
    [(labels, split)] = structured_splits(tiny_dataset, "size", seed=0)
    assert max(len(recipes[f][0]) for f in split.train) < min(
        len(recipes[f][0]) for f in split.test)
    with pytest.raises(ValueError):
        structured_splits(tiny_dataset, "colour")


def test_ideal_mixing_recovers_a_linear_mixing_rule():
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(6), 200) * rng.uniform(50, 150, (200, 1))  # any total
    effects = rng.normal(0, 10, 6)
    y = (x / x.sum(1, keepdims=True)) @ effects
    model = BASELINES["ideal_mixing"](0).fit(x[:150], y[:150])
    np.testing.assert_allclose(model.predict(x[150:]), y[150:], atol=0.05)


def test_cv_by_size_from_the_command_line(tiny_data_dir, tmp_path, capsys):
    (tmp_path / "tiny.toml").write_text("[model]\nbase_dim = 8\nmixer_dim = 16\nn_layers = 1\n"
                                        "n_heads = 2\nhead_hidden = 16\n[train]\nepochs = 1\n")
    assert main(["experiment", "cv", "--data", str(tiny_data_dir), "--out", str(tmp_path / "o"),
                 "--config", str(tmp_path / "tiny.toml"), "--split", "size", "--baselines",
                 "ideal_mixing", "--quiet"]) == 0
    result = json.loads((tmp_path / "o" / "cv.json").read_text())
    assert result["method"] == "size" and len(result["records"]) == 1
    assert "1 size splits" in capsys.readouterr().out
    assert main(["experiment", "ablation", "--data", str(tiny_data_dir), "--out",
                 str(tmp_path / "a"), "--split", "group"]) == 2
