"""Shared fixtures: one tiny synthetic dataset and one briefly trained model per session."""

from __future__ import annotations

import pytest
import torch

from models.data import load_dataset
from models.pipeline import fit_model
from models.synth import generate, write_dataset
from models.training import TrainConfig

torch.set_num_threads(1)

TINY_MIXER = {"base_dim": 8, "mixer_dim": 16, "n_layers": 2, "n_heads": 2, "head_hidden": 16}


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """A 200-recipe synthetic dataset folder (read-only: copy it before changing files)."""
    folder = tmp_path_factory.mktemp("tiny") / "data"
    write_dataset(generate(seed=7, n_formulations=200), folder)
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tiny_data_dir):
    return load_dataset(tiny_data_dir)


@pytest.fixture(scope="session")
def tiny_model(tiny_dataset):
    """A small Mixer trained for a few epochs on the tiny dataset (do not modify)."""
    return fit_model(tiny_dataset, mixer_options=TINY_MIXER,
                     train_config=TrainConfig(epochs=8, seed=0), progress=False)
