"""Models that carry, as ``xai train`` leaves them, a conformal calibration and an
applicability domain: the tiny model with a split calibration, and a small cross-fitted
ensemble refitted on all recipes (its Mixer is then not the members' mean)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.calibration import attach_trust, split_calibration
from models.plans import fit_plan, plan_for
from models.training import TrainConfig

SMALL_MIXER = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}


@pytest.fixture(scope="session")
def calibrated_model(tiny_model, tiny_dataset):
    """The tiny model (untouched) copied, with a split-conformal calibration and a domain."""
    model = dataclasses.replace(tiny_model, metrics=dict(tiny_model.metrics))
    conformal, table = split_calibration(model, tiny_dataset)
    return attach_trust(model, tiny_dataset, model.split.train, conformal=conformal,
                        coverage_table_=table)


@pytest.fixture(scope="session")
def ensemble_model(tiny_dataset):
    """A 3-member cross-fitted ensemble (its intervals from out-of-fold residuals,
    disagreement thresholds), refitted on all recipes."""
    plan = plan_for(len(tiny_dataset.formulation_ids), ensemble=3, refit=True, smoothing=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a command-line test run before may have widened the pool
    try:
        return fit_plan(tiny_dataset, plan, mixer_options=SMALL_MIXER,
                        train_config=TrainConfig(epochs=3, seed=0), progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ensemble_checkpoint(ensemble_model, tmp_path_factory):
    from models.checkpoint import save_model

    return save_model(ensemble_model, tmp_path_factory.mktemp("ensemble-checkpoint") / "model")
