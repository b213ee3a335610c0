"""Learning curves: test error against the share of training recipes used.

Does the Mixer improve with more data, and faster than the baselines? One seeded split fixes
the validation and test parts; each seed then orders the training recipes at random and trains
on the first 10 %, 25 %, 50 % and 100 % of them, so the smaller training sets are nested in the
larger ones and every point of a curve is scored on the same test recipes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from models.baselines import BASELINES
from models.choices import DEFAULT_FRACTIONS
from models.data import Dataset
from models.experiments import Task, metric_table, relative_rmse, run_tasks, summarise
from models.pipeline import measured_formulations
from models.splits import Split, random_split
from models.training import TrainConfig


def nested_training_sets(
    split: Split, fractions: Sequence[float], *, seed: int
) -> list[Split]:
    """One split per fraction: the first ``round(f * n)`` (at least one) training ids of a
    seeded shuffle, with ``split``'s validation and test parts unchanged."""
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"fractions must be in (0, 1], got {f}")
    order = np.random.default_rng(seed).permutation(sorted(split.train)).tolist()
    return [
        Split(train=tuple(sorted(order[: max(1, round(f * len(order)))])),
              validation=split.validation, test=split.test, seed=seed,
              method=f"learning_curve:{f:g}")
        for f in fractions
    ]


def learning_curve(
    dataset: Dataset,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seeds: int = 3,
    seed: int = 0,
    mixer_options: dict | None = None,
    train_config: TrainConfig | None = None,
    baselines: Sequence[str] = tuple(BASELINES),
    jobs: int = 1,
    progress: bool = True,
) -> dict:
    """Train on nested shares of one split's training part, ``seeds`` times each.

    The base split is ``random_split(..., seed=seed)``; seed ``s`` (0 .. seeds-1) shuffles the
    training recipes with ``seed + s`` and trains the Mixer with ``train_config.seed + s``.

    Returns
    -------
    dict (JSON-able): ``fractions``, ``n_train`` (formulations per fraction), ``records`` (one
    per fraction and seed, labelled), ``properties[p]["rmse"][model]`` and
    ``relative_rmse[model]`` as lists over fractions of lists over seeds, and ``summary[model]``
    with the mean and standard deviation of the relative RMSE per fraction.
    """
    fractions = sorted({float(f) for f in fractions})
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    train_config = train_config or TrainConfig()
    base = random_split(measured_formulations(dataset), seed=seed)
    tasks = []
    for s in range(seeds):
        for f, split in zip(fractions, nested_training_sets(base, fractions, seed=seed + s),
                            strict=True):
            tasks.append(Task(split=split, mixer_options=dict(mixer_options or {}),
                              train_config=replace(train_config, seed=train_config.seed + s),
                              baselines=tuple(baselines), labels={"fraction": f, "seed": s}))
    records = run_tasks(dataset, tasks, jobs=jobs, progress=progress, desc="learning curve")
    grid = [[_record(records, f, s) for s in range(seeds)] for f in fractions]
    names = list(records[0]["models"]) if records else []
    properties = {}
    for prop, per_model in metric_table(records, "rmse").items():
        properties[prop] = {"rmse": {name: _reshape(values, records, fractions, seeds)
                                     for name, values in per_model.items()}}
    relative = {name: [[relative_rmse(r, name) for r in row] for row in grid] for name in names}
    return {
        "kind": "learning_curve",
        "fractions": fractions,
        "seeds": seeds,
        "seed": seed,
        "n_train": [row[0]["split"]["n_train"] for row in grid],
        "n_test": len(base.test),
        "units": "test RMSE in original units; relative RMSE = RMSE / mean-predictor RMSE",
        "mixer_options": dict(mixer_options or {}),
        "train_config": train_config.to_dict(),
        "models": names,
        "records": records,
        "properties": properties,
        "relative_rmse": relative,
        "summary": {name: [summarise(row) for row in rows] for name, rows in relative.items()},
    }


def _record(records: list[dict], fraction: float, seed: int) -> dict:
    return next(r for r in records
                if r["labels"]["fraction"] == fraction and r["labels"]["seed"] == seed)


def _reshape(values: list[float], records: list[dict], fractions: list[float],
             seeds: int) -> list[list[float]]:
    where = {(r["labels"]["fraction"], r["labels"]["seed"]): v
             for r, v in zip(records, values, strict=True)}
    return [[where[(f, s)] for s in range(seeds)] for f in fractions]
