"""The model and recipes every benchmark shares.

One Mixer of the default shape (32 wide, 2 blocks) trained on the default synthetic data, and a
pool of real synthetic recipes from the same generator (same seed, so the same ingredient
catalogue) from which recipes of a given size are drawn. Cases are built directly from recipes,
so a benchmark can explain recipes that were never measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from models.checkpoint import CheckpointError, load_model, save_model
from models.data import Dataset, load_dataset
from models.pipeline import fit_model
from models.synth import generate, write_dataset
from models.trained import TrainedModel
from models.training import TrainConfig
from xai.cases import Cases

Recipe = tuple[list[str], np.ndarray]
EXPLAINED_PROPERTY = "viscosity_4pin_10rpm"


@dataclass(frozen=True)
class Trained:
    """A trained model, the dataset it was trained on and how long ``fit_model`` took."""

    model: TrainedModel
    dataset: Dataset
    fit_seconds: float | None


def default_data(workdir: Path, *, seed: int = 0) -> Dataset:
    """The default synthetic dataset (``xai synth`` with its defaults), written once under
    ``workdir``."""
    folder = Path(workdir) / f"synth-{seed}"
    if not (folder / "measurements.csv").exists():
        write_dataset(generate(seed=seed), folder)
    return load_dataset(folder)


def train_default(workdir: Path, *, epochs: int | None = None, seed: int = 0) -> Trained:
    """Train a default-shape Mixer on the default data and save it under ``workdir``.

    ``epochs`` caps training (None: the default ``TrainConfig``, which runs to early stop).
    """
    dataset = default_data(workdir, seed=seed)
    config = TrainConfig(seed=seed) if epochs is None else TrainConfig(seed=seed, epochs=epochs)
    start = time.perf_counter()
    model = fit_model(dataset, train_config=config, progress=False)
    seconds = time.perf_counter() - start
    save_model(model, _model_dir(workdir, epochs))
    return Trained(model, dataset, seconds)


def bench_model(workdir: Path, *, epochs: int | None = None, seed: int = 0) -> Trained:
    """The model saved by :func:`train_default` with the same ``epochs``, trained now if there
    is none yet (``fit_seconds`` is None when it was loaded)."""
    try:
        model = load_model(_model_dir(workdir, epochs))
    except CheckpointError:
        return train_default(workdir, epochs=epochs, seed=seed)
    return Trained(model, default_data(workdir, seed=seed), None)


def model_folder(workdir: Path, *, epochs: int | None = None) -> Path:
    """Where :func:`train_default` saves the model trained with ``epochs``."""
    return _model_dir(workdir, epochs)


def recipe_pool(n_formulations: int, *, seed: int = 0) -> list[Recipe]:
    """``n_formulations`` recipes ``(codes, amounts)`` from the synthetic generator."""
    table = generate(seed=seed, n_formulations=n_formulations).formulations
    return [(list(part["ingredient"]), part["amount"].to_numpy(np.float64))
            for _, part in table.groupby("formulation_id", sort=True)]


def recipes_of_size(pool: list[Recipe], size: int, count: int) -> list[Recipe]:
    """The first ``count`` recipes of exactly ``size`` ingredients in ``pool`` (raises when the
    pool holds fewer)."""
    found = [r for r in pool if len(r[0]) == size][:count]
    if len(found) < count:
        raise ValueError(f"the pool holds {len(found)} recipes of {size} ingredients, "
                         f"{count} are needed: draw a larger pool")
    return found


def recipe_cases(model: TrainedModel, recipes: list[Recipe], properties: list[str]) -> Cases:
    """Cases pairing ``recipes[i]`` with ``properties[i]`` (no balance ingredient, nothing
    measured)."""
    if len(recipes) != len(properties):
        raise ValueError("one property per recipe")
    block = model.encoder.encode_recipes(recipes)
    return Cases(
        formulation_ids=tuple(f"R{i}" for i in range(len(recipes))),
        properties=tuple(properties),
        ingredients=tuple(tuple(codes) for codes, _ in recipes),
        raw_amounts=tuple(np.asarray(a, dtype=np.float64) for _, a in recipes),
        property_ids=torch.tensor([model.encoder.property_id(p) for p in properties],
                                  dtype=torch.long),
        ids=block.ids,
        amounts=block.amounts,
        mask=block.mask,
        balance_slot=torch.full((len(recipes),), -1, dtype=torch.long),
        measured=np.full(len(recipes), np.nan),
    )


def cases_to(cases: Cases, device: str) -> Cases:
    """The same cases with their tensors on ``device``."""
    return replace(cases, property_ids=cases.property_ids.to(device), ids=cases.ids.to(device),
                   amounts=cases.amounts.to(device), mask=cases.mask.to(device),
                   balance_slot=cases.balance_slot.to(device))


def _model_dir(workdir: Path, epochs: int | None) -> Path:
    return Path(workdir) / ("model-early-stop" if epochs is None else f"model-{epochs}-epochs")
