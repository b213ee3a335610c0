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


HOSTILE_INGREDIENT = "<script>alert(1)</script>"
HOSTILE_PROPERTY = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """``xai demo --quick`` on 300 recipes and a few epochs: data, model and report folders
    (read-only: copy the report before changing it)."""
    from xai.cli import main

    out = tmp_path_factory.mktemp("demo") / "demo"
    assert main(["demo", "--out", str(out), "--formulations", "300", "--epochs", "6",
                 "--quick", "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def hostile_report(tiny_data_dir, tmp_path_factory):
    """A ``--quick`` report on the tiny data with one ingredient named like a script tag and
    one property named like an attribute break-out (truth.json dropped: it names the codes)."""
    import pandas as pd

    from models.checkpoint import save_model
    from xai.cli import main

    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    data.mkdir()
    formulations = pd.read_csv(tiny_data_dir / "formulations.csv", dtype={"formulation_id": str})
    counts = formulations["ingredient"].value_counts()
    victim = counts.index[1]  # the most frequent after the balance ingredient
    prop = "ph"
    for name in ("formulations", "ingredients", "substitutions"):
        frame = pd.read_csv(tiny_data_dir / f"{name}.csv", dtype=str)
        frame = frame.replace({victim: HOSTILE_INGREDIENT})
        frame.to_csv(data / f"{name}.csv", index=False)
    for name, column in (("measurements", "property"), ("properties", "property")):
        frame = pd.read_csv(tiny_data_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[column] = frame[column].replace({prop: HOSTILE_PROPERTY})
        frame.to_csv(data / f"{name}.csv", index=False)
    dataset = load_dataset(data)
    assert HOSTILE_INGREDIENT in dataset.ingredient_names
    model = fit_model(dataset, mixer_options=TINY_MIXER, train_config=TrainConfig(epochs=3, seed=0),
                      progress=False)
    save_model(model, root / "model")
    assert main(["report", "--model", str(root / "model"), "--data", str(data), "--out",
                 str(root / "report"), "--quick", "--quiet"]) == 0
    return root / "report"


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory):
    """The tiny model saved as a checkpoint folder."""
    from models.checkpoint import save_model

    return save_model(tiny_model, tmp_path_factory.mktemp("tiny-checkpoint") / "model")


@pytest.fixture(scope="session")
def tiny_audit(tiny_model, tiny_dataset, tiny_checkpoint):
    """``run_audit`` with the quick options on the tiny model and data (do not modify)."""
    from xai.runs.audit import run_audit
    from xai.runs.settings import AuditSettings

    return run_audit(tiny_model, tiny_dataset, model_dir=tiny_checkpoint,
                     settings=AuditSettings.quick(max_cases=60))


@pytest.fixture(scope="session")
def tiny_toml():
    """``tiny_toml(epochs=3, seed=None)``: the text of a training config for a tiny, fast Mixer
    (the command-line tests train with it)."""

    def text(epochs: int = 3, seed: int | None = None) -> str:
        train = f"epochs = {epochs}\n" + ("" if seed is None else f"seed = {seed}\n")
        return ("[model]\nbase_dim = 8\nmixer_dim = 16\nn_layers = 1\nn_heads = 2\n"
                "head_hidden = 16\n\n[train]\n" + train)

    return text
