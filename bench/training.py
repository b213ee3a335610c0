"""Training speed: time to early stop and samples per second on the default synthetic data, and
``xai demo`` end to end.

Time to early stop is one ``fit_model`` run with the default ``TrainConfig`` (data encoding,
training with its validation passes, and the final evaluation). Throughput is measured apart:
a fresh Mixer of the same shape trained for a few epochs on the same training samples with no
validation pass, timed per epoch, so it counts forward, backward and optimiser steps only.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from bench.fixture import Trained, bench_model, train_default
from bench.rss import measure
from models.mixer import build_mixer
from models.trained import TrainedModel
from models.training import Samples, TrainConfig, train


@dataclass(frozen=True)
class TrainingConfig:
    """``epochs`` caps the early-stop run (None: the default config, to early stop);
    ``throughput_epochs`` epochs are timed for samples per second."""

    epochs: int | None = None
    throughput_epochs: int = 4
    demo: bool = True
    seed: int = 0


def run_training(workdir: Path, config: TrainingConfig, *, device: str = "cpu",
                 say: Callable[[str], None] = print) -> tuple[dict, Trained]:
    """Training measurements on ``device`` and the trained model for the other benchmarks.

    The project's trainer runs where its tensors are (CPU); on another device only the
    throughput is measured there, next to the CPU throughput of the same machine.
    """
    out: dict = {"config": asdict(config), "device": device}
    if device == "cpu":
        say("training: default data to early stop")
        trained = train_default(workdir, epochs=config.epochs, seed=config.seed)
        out["early_stop"] = _early_stop(trained)
    else:
        trained = bench_model(workdir, epochs=config.epochs, seed=config.seed)
        out["early_stop"] = {"error": "not measured: fit_model trains on CPU tensors only"}
    samples = _train_samples(trained)
    say(f"training: throughput on {device}")
    out["throughput"] = {device: _throughput(trained.model, samples, config, device)}
    if device != "cpu":
        out["throughput"]["cpu"] = _throughput(trained.model, samples, config, "cpu")
    if config.demo and device == "cpu":
        say("training: xai demo end to end")
        out["demo"] = _demo(config.seed)
    return out, trained


def _early_stop(trained: Trained) -> dict:
    model = trained.model
    history = model.history
    n_train = int(trained.dataset.measurements["formulation_id"].isin(
        set(model.split.train)).sum())
    epochs = len(history.epochs)
    return {
        "fit_s": trained.fit_seconds, "epochs_run": epochs, "best_epoch": history.best_epoch,
        "stop_reason": history.stop_reason, "train_samples": n_train,
        "samples_per_s_overall": epochs * n_train / trained.fit_seconds,
        "median_test_r2_200plus": model.metrics["summary"]["median_test_r2_200plus"],
        "runs": 1,
    }


def _train_samples(trained: Trained) -> Samples:
    model, dataset = trained.model, trained.dataset
    rows = dataset.measurements[dataset.measurements["formulation_id"].isin(
        set(model.split.train))].reset_index(drop=True)
    return model.samples(rows, dataset.recipes())


def _throughput(model: TrainedModel, samples: Samples, config: TrainingConfig,
                device: str) -> dict:
    """Median seconds per epoch over ``throughput_epochs`` epochs (the first one, which warms
    up, is left out when there are more than two)."""
    mixer = build_mixer(model.mixer.config, seed=config.seed).to(device)
    samples = _samples_to(samples, device)
    empty = _samples_to(model.samples(pd.DataFrame(
        {"formulation_id": [], "property": [], "value": []}), {}), device)
    stamps = [time.perf_counter()]

    def on_epoch(epoch: int, record: dict) -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    train_config = replace(TrainConfig(seed=config.seed), epochs=config.throughput_epochs,
                           patience=config.throughput_epochs + 1)
    train(mixer, samples, empty, train_config, progress=False, on_epoch=on_epoch)
    epochs = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    timed = epochs[1:] if len(epochs) > 2 else epochs
    median = statistics.median(timed)
    return {"epoch_s": epochs, "median_epoch_s": median, "samples": len(samples),
            "samples_per_s": len(samples) / median, "batch_size": train_config.batch_size}


def _samples_to(samples: Samples, device: str) -> Samples:
    recipes = samples.recipes
    return replace(samples, recipes=replace(recipes, ids=recipes.ids.to(device),
                                            amounts=recipes.amounts.to(device),
                                            mask=recipes.mask.to(device)),
                   recipe_index=samples.recipe_index.to(device),
                   property_ids=samples.property_ids.to(device),
                   targets=samples.targets.to(device))


def _demo(seed: int) -> dict:
    """``xai demo`` in a fresh process: wall time, peak memory and the model it printed."""
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as folder:
        result = measure([sys.executable, "-m", "xai", "demo", "--out",
                          str(Path(folder) / "demo"), "--seed", str(seed), "--quiet"])
    return {"wall_s": result["wall_s"], "peak_rss_mb": result["peak_rss_mb"],
            "returncode": result["returncode"], "runs": 1,
            "summary_line": next((line for line in result["output"].splitlines()
                                  if line.startswith("median test R2")), None)}
