"""Bounded, seeded samples of measurement rows, for the parts of an evaluation whose cost
would otherwise grow with the data without adding information: scoring the training split and
fitting the baselines.

A sample keeps the rows' original order, so below its bound a sample is the rows themselves and
everything computed from it is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.data import Dataset
from models.pipeline import _rows, metrics_from_predictions
from models.splits import Split
from models.trained import TrainedModel

MAX_TRAIN_MEASUREMENTS = 20_000
"""Training measurements scored for the training metrics and fitted by each baseline."""


def bounded_rows(rows: pd.DataFrame, cap: int | None, seed: int) -> pd.DataFrame:
    """``rows`` itself when it has at most ``cap`` rows (or ``cap`` is None), else a seeded
    sample of ``cap`` of them in their original order; the index is reset."""
    if cap is None or len(rows) <= cap:
        return rows.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=cap, replace=False))
    return rows.iloc[keep].reset_index(drop=True)


def sample_note(n_used: int, n_all: int, seed: int) -> dict:
    """How many of how many rows a computation used, and the seed of the sample."""
    return {"used": int(n_used), "of": int(n_all), "sampled": n_used < n_all, "seed": int(seed)}


@dataclass(frozen=True)
class Evaluation:
    """:func:`models.pipeline.evaluate`'s metrics, the test rows and their predictions (for
    reuse: parity plots), and which parts were scored on a sample."""

    metrics: dict
    test_rows: pd.DataFrame
    test_predictions: np.ndarray
    sampling: dict


def evaluate_bounded(model: TrainedModel, dataset: Dataset, split: Split, *,
                     max_train: int | None = MAX_TRAIN_MEASUREMENTS,
                     seed: int = 0) -> Evaluation:
    """:func:`models.pipeline.evaluate` with each part predicted once and the training part
    scored on a seeded sample of at most ``max_train`` measurements (its metrics are estimates
    then; validation and test are scored in full)."""
    recipes = dataset.recipes()
    parts, sampling = {}, {}
    for part in ("train", "validation", "test"):
        rows = _rows(dataset.measurements, getattr(split, part))
        used = bounded_rows(rows, max_train, seed) if part == "train" else rows
        sampling[part] = sample_note(len(used), len(rows), seed)
        parts[part] = (used, model.predict([recipes[f] for f in used["formulation_id"]],
                                           used["property"].tolist())
                       if len(used) else np.zeros(0))
    metrics = metrics_from_predictions(model, dataset, split, parts)
    return Evaluation(metrics, *parts["test"], sampling)
