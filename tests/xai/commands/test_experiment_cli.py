"""``xai experiment ...`` and ``xai sweep`` through the real command-line entry point."""

from __future__ import annotations

import json

import pytest

from models.config import load_config
from xai import cli

GRID_SPACE = """
[model]
base_dim = 8
mixer_dim = { choices = [8, 16] }
n_layers = 1
n_heads = 2
head_hidden = 16
[train]
epochs = 1
"""


@pytest.fixture
def xai():
    """``xai`` as the console script runs it, returning the exit code (argparse's errors
    included)."""

    def run(*argv) -> int:
        try:
            return cli.main([str(a) for a in argv])
        except SystemExit as stop:
            return stop.code

    return run


@pytest.fixture
def config(tmp_path, tiny_toml):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_toml(epochs=1))
    return path


def test_cv_prints_mixer_vs_best_baseline_per_property(xai, tiny_data_dir, config, tmp_path,
                                                       capsys):
    out = tmp_path / "out"
    code = xai("experiment", "cv", "--data", tiny_data_dir, "--out", out, "--config", config,
               "--folds", "2", "--baselines", "ridge", "--quiet")
    assert code == 0
    result = json.loads((out / "cv.json").read_text())
    printed = capsys.readouterr().out
    assert "cross-validation over 2 splits (2-fold)" in printed
    for prop, entry in result["properties"].items():
        line = next(x for x in printed.splitlines() if x.startswith(prop))
        if entry["comparison"] is not None:
            assert "ridge" in line and "[" in line and entry["comparison"]["verdict"] in line
    assert "ALL (relative RMSE)" in printed
    assert result["train_config"]["epochs"] == 1 and result["mixer_options"]["mixer_dim"] == 16


def test_learning_curve_and_baselines_write_their_files(xai, tiny_data_dir, config, tmp_path,
                                                        capsys):
    out = tmp_path / "out"
    assert xai("experiment", "learning-curve", "--data", tiny_data_dir, "--out", out,
               "--config", config, "--fractions", "0.5", "1", "--seeds", "1",
               "--baselines", "ridge", "--quiet") == 0
    curve = json.loads((out / "learning_curve.json").read_text())
    assert curve["fractions"] == [0.5, 1.0] and curve["models"] == ["mixer", "ridge"]
    assert xai("experiment", "baselines", "--data", tiny_data_dir, "--out", out,
               "--baselines", "ridge", "--seed", "3", "--quiet") == 0
    baselines = json.loads((out / "baselines.json").read_text())
    assert baselines["kind"] == "baselines" and baselines["split"]["seed"] == 3
    assert set(baselines["models"]) == {"ridge"}
    assert "learning curve" in capsys.readouterr().out


def test_ablation_runs_variants_and_rejects_bad_ones(xai, tiny_data_dir, config, tmp_path,
                                                     capsys):
    out = tmp_path / "out"
    assert xai("experiment", "ablation", "--data", tiny_data_dir, "--out", out, "--config",
               config, "--folds", "2", "--variants", "layer_norm=true", "--quiet") == 0
    result = json.loads((out / "ablation.json").read_text())
    assert result["variants"] == ["default", "layer_norm=true"]
    assert "layer_norm=true" in capsys.readouterr().out
    assert xai("experiment", "ablation", "--data", tiny_data_dir, "--out", out,
               "--variants", "colour=red", "--quiet") == 2
    assert "unknown variant key" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ("--folds", "1"),
    ("--jobs", "0"),
    ("--epochs", "0"),
    ("--seeds", "0"),
])
def test_bad_numbers_are_usage_errors(xai, tiny_data_dir, tmp_path, argv):
    assert xai("experiment", "cv", "--data", tiny_data_dir, "--out", tmp_path, *argv) == 2


def test_reduce_ingredients_is_mounted():
    from xai.commands import experiment_reduce

    parsed = cli.build_parser().parse_args(
        ["experiment", "reduce-ingredients", "--data", "d", "--out", "o"])
    assert parsed.experiment == "reduce-ingredients" and parsed.run is experiment_reduce.run


def test_grid_sweep_writes_a_trainable_best_config(xai, tiny_data_dir, tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text(GRID_SPACE)
    out = tmp_path / "sweep"
    assert xai("sweep", "--data", tiny_data_dir, "--out", out, "--space", space,
               "--sampler", "grid", "--no-prune", "--quiet") == 0
    results = json.loads((out / "sweep.json").read_text())
    assert results["states"] == {"COMPLETE": 2}
    assert {t["params"]["model.mixer_dim"] for t in results["trials"]} == {8, 16}
    assert results["storage"].startswith("sqlite:///") and (out / "sweep.db").exists()
    model, train = load_config(out / "best.toml")
    assert model["mixer_dim"] == results["best"]["params"]["model.mixer_dim"]
    assert train.epochs == 1 and model["n_heads"] == 2
    assert "best: trial" in capsys.readouterr().out


def test_sweep_usage_errors(xai, tiny_data_dir, tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text(GRID_SPACE)
    assert xai("sweep", "--data", tiny_data_dir, "--out", tmp_path, "--space", space) == 2
    assert "--trials is required" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\ncolour = 1\n")
    assert xai("sweep", "--data", tiny_data_dir, "--out", tmp_path, "--space", bad,
               "--trials", "2") == 2
    assert "unknown key" in capsys.readouterr().err


def test_property_init_writes_the_retraining_comparison(xai, tiny_data_dir, config, tmp_path,
                                                       capsys):
    from xai.commands.experiment import RETRAINING_MODES
    from xai.representation import property_retraining

    assert RETRAINING_MODES == property_retraining.RETRAINING_MODES
    out = tmp_path / "out"
    low, donor = "viscosity_6pin_10rpm", "viscosity_4pin_10rpm"
    assert xai("experiment", "property-init", "--data", tiny_data_dir, "--out", out,
               "--config", config, "--low", low, "--donor", donor, "--mode", "tie",
               "--seeds", 2, "--quiet") == 0
    result = json.loads((out / "property_retraining.json").read_text())
    assert result["kind"] == "property_retraining" and result["mode"] == "tie"
    assert (result["low_property"], result["donor"]) == (low, donor)
    assert [r["seed"] for r in result["per_seed"]] == [0, 1]
    assert result["rmse_difference"]["n"] == 2
    assert "test RMSE change" in capsys.readouterr().out
    assert xai("experiment", "property-init", "--data", tiny_data_dir, "--out", out,
               "--low", low, "--donor", "no-such-property", "--quiet") == 2
