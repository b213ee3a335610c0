"""What every model-selection experiment shares: one training per split, run in parallel, and
paired statistics over the splits.

An experiment is a list of :class:`Task` s (a split, Mixer options, a training config, and
whether to fit the baselines beside the Mixer). :func:`run_tasks` runs them, in worker
processes when ``jobs > 1`` (one torch thread each, so two workers use two cores), and returns
one JSON-able record per task in task order. Cross-validation, learning curves and ablations
(``models.cv``, ``models.learning_curve``, ``models.ablation``) only build tasks and aggregate
records.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from models.baselines import BASELINES, metrics_from_predictions, predict_baselines
from models.data import Dataset
from models.intervals import t_interval, t_test_pvalue
from models.pipeline import fit_model
from models.rare_ingredients import cut_rare_ingredients
from models.splits import Split
from models.threads import configure_threads, per_worker
from models.training import TrainConfig

MIXER = "mixer"


@dataclass(frozen=True)
class Task:
    """One training: the Mixer, and the baselines named in ``baselines``, on ``split``.

    ``rare_cut`` > 0 first applies :func:`models.rare_ingredients.cut_rare_ingredients` with that
    threshold, counted on ``split.train``. ``labels`` are copied into the record (fold, seed,
    variant ...).
    """

    split: Split
    mixer_options: dict = field(default_factory=dict)
    train_config: TrainConfig = field(default_factory=TrainConfig)
    baselines: tuple[str, ...] = tuple(BASELINES)
    rare_cut: int = 0
    rare_mode: str = "merge"
    labels: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.baselines) - set(BASELINES))
        if unknown:
            raise ValueError(f"unknown baselines {unknown}; choose from {list(BASELINES)}")


def split_digest(train: Sequence[str], validation: Sequence[str], test: Sequence[str]) -> str:
    """A short hash of the three id sets: equal digests mean identical splits."""
    digest = hashlib.sha256()
    for part in (train, validation, test):
        digest.update("\x1f".join(sorted(map(str, part))).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


def score_split(dataset: Dataset, task: Task) -> dict:
    """Train and score one task; every metric is on ``task.split.test``, in original units.

    The record's ``split_digests`` has one digest per model, computed from the ids each model
    was actually fitted and scored on; they must all equal ``split.digest``.
    """
    split = task.split
    if task.rare_cut > 0:

        dataset = cut_rare_ingredients(dataset, split.train, min_count=task.rare_cut,
                                       mode=task.rare_mode)
    model = fit_model(dataset, mixer_options=task.mixer_options, train_config=task.train_config,
                      split=split, progress=False)
    used = model.split
    models = {MIXER: {p: dict(m["test"]) for p, m in model.metrics["properties"].items()}}
    digests = {MIXER: split_digest(used.train, used.validation, used.test)}
    if task.baselines:
        fitted = predict_baselines(dataset, split, seed=task.train_config.seed,
                                   names=task.baselines)
        models.update(metrics_from_predictions(fitted))
        digest = split_digest(fitted.train_ids, split.validation, fitted.test_ids)
        digests.update(dict.fromkeys(fitted.predictions, digest))
    expected = split_digest(split.train, split.validation, split.test)
    mismatched = sorted(name for name, d in digests.items() if d != expected)
    if mismatched:
        raise RuntimeError(f"models {mismatched} were not fitted on the task's split")
    history = model.history
    return {
        "labels": dict(task.labels),
        "split": {"method": split.method, "seed": split.seed, "digest": expected,
                  "n_train": len(split.train), "n_validation": len(split.validation),
                  "n_test": len(split.test)},
        "split_digests": digests,
        "models": models,
        "mixer_training": {"best_epoch": history.best_epoch, "epochs_run": len(history.epochs),
                           "stop_reason": history.stop_reason},
    }


def run_tasks(
    dataset: Dataset, tasks: Sequence[Task], *, jobs: int = 1, progress: bool = True,
    desc: str = "trainings",
) -> list[dict]:
    """Run every task and return their records in task order.

    With ``jobs > 1`` the tasks run in that many fresh (spawned) processes that share this
    process's torch threads (at least one each); results do not depend on ``jobs`` beyond
    floating-point summation order.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    bar = tqdm(total=len(tasks), desc=desc, unit="fit", disable=not progress, leave=False)
    records: list[dict | None] = [None] * len(tasks)
    if jobs == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            records[i] = score_split(dataset, task)
            bar.update()
    else:
        context = multiprocessing.get_context("spawn")
        workers = min(jobs, len(tasks))
        threads = per_worker(torch.get_num_threads(), workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=configure_threads, initargs=(threads,)) as pool:
            futures = {pool.submit(score_split, dataset, task): i for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                records[futures[future]] = future.result()
                bar.update()
    bar.close()
    return [r for r in records if r is not None]


# ------------------------------------------------------------------------------- statistics


def paired_difference(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95,
    test_train_ratio: float | None = None,
) -> dict:
    """Mean of ``a - b`` over paired splits with a t interval; pairs with a NaN are dropped.

    Splits share training data, so their differences are correlated and the plain t interval
    is too narrow. With ``test_train_ratio`` (test size / training size) the Nadeau-Bengio
    corrected interval is given too: variance scaled by ``1/n + test_train_ratio`` instead of
    ``1/n`` (Nadeau & Bengio 2003; Bouckaert & Frank 2004 for repeated k-fold). ``verdict``
    reads the corrected interval where there is one: ``"a lower"``, ``"b lower"`` or
    ``"no clear difference"``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    n = len(d)
    result = {"n": n, "mean": float(d.mean()) if n else math.nan, "sd": math.nan,
              "confidence": confidence, "ci": [math.nan, math.nan], "p_value": math.nan,
              "ci_corrected": None, "p_value_corrected": None, "verdict": "too few splits"}
    if n < 2:
        return result
    sd = float(d.std(ddof=1))
    result["sd"] = sd
    result["ci"], result["p_value"] = _t_interval(d, confidence, 0.0)
    chosen = result["ci"]
    if test_train_ratio is not None:
        result["ci_corrected"], result["p_value_corrected"] = _t_interval(
            d, confidence, test_train_ratio)
        chosen = result["ci_corrected"]
    result["verdict"] = ("a lower" if chosen[1] < 0 else "b lower" if chosen[0] > 0
                         else "no clear difference")
    return result


def _t_interval(d: np.ndarray, confidence: float,
                correction: float) -> tuple[list[float], float]:
    """[low, high] and the two-sided p-value from :func:`models.intervals.t_interval`; with
    no spread at all the p-value is 0 for a non-zero mean and 1 for a zero one."""
    interval = t_interval(d, confidence=confidence, correction=correction)
    p = t_test_pvalue(d, correction=correction)
    if math.isnan(p):  # every difference the same
        p = 0.0 if interval.estimate != 0 else 1.0
    return [interval.low, interval.high], p


def metric_table(records: Sequence[dict], metric: str = "rmse") -> dict[str, dict[str, list]]:
    """``{property: {model: [metric per record]}}``, NaN where a record lacks the value."""
    props = sorted({p for r in records for m in r["models"].values() for p in m})
    names = list(dict.fromkeys(n for r in records for n in r["models"]))
    return {
        p: {n: [_value(r, n, p, metric) for r in records] for n in names
            if any(p in r["models"].get(n, {}) for r in records)}
        for p in props
    }


def relative_rmse(record: dict, model: str) -> float:
    """Mean over properties of test RMSE / mean-predictor RMSE: one scale-free score per record.

    Properties without a finite ratio (no test rows, or a zero mean-predictor RMSE) are left
    out; the same properties drop out for every model scored on the same split.
    """
    ratios = [m["rmse"] / m["mean_predictor_rmse"] for m in record["models"].get(model, {}).values()
              if _finite(m.get("rmse")) and _finite(m.get("mean_predictor_rmse"))
              and m["mean_predictor_rmse"] > 0]
    return float(np.mean(ratios)) if ratios else math.nan


def holdout_ratio(records: Sequence[dict]) -> float:
    """Mean test size / training size (formulations) over records, for the corrected interval."""
    return float(np.mean([r["split"]["n_test"] / r["split"]["n_train"] for r in records]))


def summarise(values: Sequence[float]) -> dict:
    """Mean, standard deviation, median, min, max and count of the finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"n": 0, "mean": math.nan, "sd": math.nan, "median": math.nan,
                "min": math.nan, "max": math.nan}
    return {"n": len(v), "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else math.nan,
            "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def _value(record: dict, model: str, prop: str, metric: str) -> float:
    entry = record["models"].get(model, {}).get(prop)
    value = entry.get(metric) if entry else None
    return float(value) if _finite(value) else math.nan


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))
