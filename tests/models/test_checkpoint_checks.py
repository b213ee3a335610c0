"""Checks a checkpoint passes on loading: a checkpoint with snapshots loads whole, and the
config checks share their ranges with the TOML loader."""

import numpy as np

from models.checkpoint import load_model, save_model
from models.config import check_values
from models.pipeline import fit_model
from models.training import TrainConfig

TINY = {"base_dim": 4, "mixer_dim": 8, "n_layers": 1, "n_heads": 2, "head_hidden": 8}


def test_a_checkpoint_with_snapshots_loads_with_them(tiny_dataset, tmp_path):
    model = fit_model(tiny_dataset, mixer_options=TINY,
                      train_config=TrainConfig(epochs=2, snapshot_every=1, seed=0),
                      progress=False)
    loaded = load_model(save_model(model, tmp_path / "model"))
    assert len(loaded.history.snapshots) == len(model.history.snapshots) >= 2
    np.testing.assert_array_equal(loaded.history.snapshots[-1]["ingredients"],
                                  model.history.snapshots[-1]["ingredients"])


def test_config_checks_name_each_bad_value():
    problems = dict(check_values({"epochs": 0, "lr": float("inf"), "dropout": 1.0,
                                  "layer_norm": "yes", "batch_size": True, "base_dim": 8}))
    assert set(problems) == {"epochs", "lr", "dropout", "layer_norm", "batch_size"}
    assert check_values({"epochs": 1, "lr": 1e-3, "dropout": 0.0, "log_dose_floor": 0}) == []
