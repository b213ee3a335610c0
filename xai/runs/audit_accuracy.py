"""The accuracy section of an audit, at a cost that does not grow with the training data.

Each split part is predicted once (the test predictions serve the metrics and the parity
plots); the training metrics are scored on a seeded sample of at most
``models.bounded.MAX_TRAIN_MEASUREMENTS`` training measurements and the baselines fitted on such
a sample, its fits spread over the process's threads; the parity plots show at most
``MAX_PARITY_POINTS`` test points per property. Below
those bounds (the built-in demo) every number is what an unbounded run gives; above them,
``sampling`` says what was sampled.

What is scored follows the analysis scope (:func:`models.fingerprint.analysis_scope`): the
model's test split on its training data, every formulation of a folder the model never saw
(then no baseline has anything to train on), or, for a model trained on every recipe, the
metrics recorded at training time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.bounded import MAX_TRAIN_MEASUREMENTS, evaluate_bounded, sample_note
from models.data import Dataset
from models.fingerprint import TEST_SPLIT, Scope
from models.splits import Split
from models.trained import TrainedModel
from xai.runs.settings import AuditSettings

MAX_PARITY_POINTS = 5_000
"""Test points per property in the parity plots (a seeded sample beyond)."""
RAREST_BINS = ((0, 0, "unseen"), (1, 2, "1-2"), (3, 9, "3-9"), (10, None, "10+"))
"""Groups of a test recipe by how many training recipes held its rarest ingredient."""


def accuracy_section(model: TrainedModel, dataset: Dataset, settings: AuditSettings,
                     scope: Scope | None = None) -> dict:
    """The ``accuracy`` entry of ``results.json``; without ``scope``, the model's test split."""
    split = model.split
    if scope is not None and scope.training_data and split is not None and not split.test:
        return _recorded_accuracy(model, dataset)
    new_data = scope is not None and scope.pool != TEST_SPLIT
    if new_data:
        # every formulation of a folder the model never saw is held out
        split = Split(train=(), validation=(), test=scope.formulation_ids, seed=0,
                      method="new data")
    if split is None:
        return {"available": False, "reason": "the checkpoint has no split.json"}
    counts = (ingredient_counts(dataset, split.train) if not new_data else
              getattr(getattr(model, "domain", None), "counts", None))
    evaluation = evaluate_bounded(model, dataset, split, max_train=MAX_TRAIN_MEASUREMENTS,
                                  seed=settings.seed)
    test, predicted = evaluation.test_rows, evaluation.test_predictions
    parity, shown = {}, {}
    for prop in model.properties:
        here = np.flatnonzero((test["property"] == prop).to_numpy())
        kept = _bounded_index(here, MAX_PARITY_POINTS, settings.seed)
        parity[prop] = {"measured": test["value"].to_numpy()[kept].tolist(),
                        "predicted": np.asarray(predicted)[kept].tolist(),
                        "formulation_ids": test["formulation_id"].to_numpy()[kept].tolist()}
        shown[prop] = sample_note(len(kept), len(here), settings.seed)
    sampling = {
        **evaluation.sampling,
        "parity": {"per_property": shown, "max_points": MAX_PARITY_POINTS},
        "note": (f"training metrics are scored on a seeded sample of at most "
                 f"{MAX_TRAIN_MEASUREMENTS} training measurements and the baselines fitted on "
                 f"one; validation and test are scored in full; the parity plots show at most "
                 f"{MAX_PARITY_POINTS} test points per property"),
    }
    by_rarest = None if counts is None else error_by_rarest(
        test, np.asarray(predicted), rarest_counts(dataset, test["formulation_id"], counts))
    if by_rarest is not None:
        by_rarest["counted_in"] = ("the model's recorded training recipes" if new_data else
                                   "the training split")
    out = {**evaluation.metrics, "parity": parity, "sampling": sampling,
           "by_rarest_ingredient": by_rarest,
           "split": {"method": split.method, "seed": split.seed, "n_train": len(split.train),
                     "n_validation": len(split.validation), "n_test": len(split.test)},
           # interval coverage measured on held-out data at training time, and the plan
           "conformal": model.metrics.get("conformal"), "plan": model.metrics.get("plan")}
    if settings.baselines and new_data:
        out["baselines_note"] = ("the folder is not the model's training data, so the baselines "
                                 "have nothing to train on")
    elif settings.baselines:
        from models.baselines import baseline_metrics
        from models.threads import current_threads

        out["baselines"] = baseline_metrics(dataset, split, seed=settings.seed,
                                            max_train=MAX_TRAIN_MEASUREMENTS,
                                            jobs=current_threads())
    return out


def _recorded_accuracy(model: TrainedModel, dataset: Dataset) -> dict:
    """Accuracy of a model trained on every recipe (refit, ensemble): the metrics recorded at
    training time (out-of-fold for an ensemble, else measured before the refit), with the
    out-of-fold predictions as parity points where there are some."""
    parity = {}
    ensemble = getattr(model, "ensemble", None)
    for prop in model.properties:
        rows = ensemble.oof[ensemble.oof["property"] == prop] if ensemble is not None else None
        parity[prop] = {"measured": [] if rows is None else rows["value"].tolist(),
                        "predicted": [] if rows is None else rows["prediction"].tolist(),
                        "formulation_ids": [] if rows is None else
                        rows["formulation_id"].tolist()}
    split = model.split
    by_rarest = None
    if ensemble is not None and len(ensemble.oof):
        by_rarest = _oof_by_rarest(ensemble, dataset)
    return {**model.metrics, "parity": parity, "by_rarest_ingredient": by_rarest,
            "split": {"method": split.method, "seed": split.seed, "n_train": len(split.train),
                      "n_validation": 0, "n_test": 0},
            "baselines_note": "the model was trained on every recipe, so no baseline is fitted "
                              "on its split; see xai experiment cv for baselines on identical "
                              "folds"}


def ingredient_counts(dataset: Dataset, formulation_ids) -> dict[str, int]:
    """Recipes among ``formulation_ids`` that hold each ingredient."""
    f = dataset.formulations
    held = f[f["formulation_id"].isin(set(formulation_ids))]
    return held.groupby("ingredient")["formulation_id"].nunique().astype(int).to_dict()


def rarest_counts(dataset: Dataset, formulation_ids, counts: dict[str, int]) -> np.ndarray:
    """Per entry of ``formulation_ids``: ``counts`` of its recipe's rarest ingredient (0 when an
    ingredient is missing from ``counts``)."""
    f = dataset.formulations
    seen = f.assign(n=f["ingredient"].map(counts).fillna(0)).groupby("formulation_id")["n"].min()
    return pd.Series(list(formulation_ids)).map(seen).fillna(0).to_numpy(np.int64)


def error_by_rarest(rows: pd.DataFrame, predicted: np.ndarray, rarest: np.ndarray) -> dict:
    """Test error per property by :data:`RAREST_BINS` of ``rarest`` (the training count of
    each row's rarest ingredient): n, RMSE, MAE and mean error (predicted - measured), in the
    property's original units."""
    out: dict = {"bins": [label for *_, label in RAREST_BINS], "properties": {}}
    error = np.asarray(predicted, dtype=np.float64) - rows["value"].to_numpy(np.float64)
    props = rows["property"].to_numpy()
    for prop in sorted(set(props)):
        groups = []
        for low, high, label in RAREST_BINS:
            here = (props == prop) & (rarest >= low) & (
                True if high is None else rarest <= high)
            e = error[here]
            groups.append({"bin": label, "n": int(here.sum()),
                           "rmse": float(np.sqrt(np.mean(e**2))) if len(e) else None,
                           "mae": float(np.mean(np.abs(e))) if len(e) else None,
                           "mean_error": float(np.mean(e)) if len(e) else None})
        out["properties"][str(prop)] = groups
    return out


def _oof_by_rarest(ensemble, dataset: Dataset) -> dict:
    """Out-of-fold errors by rarest ingredient, counted in the recipes each member trained on
    (every fold but its own)."""
    oof = ensemble.oof
    everything = ingredient_counts(dataset, dataset.formulation_ids)
    rarest = np.zeros(len(oof), dtype=np.int64)
    for m, fold in enumerate(ensemble.folds):
        held = ingredient_counts(dataset, fold)
        counts = {c: n - held.get(c, 0) for c, n in everything.items()}
        here = (oof["member"] == m).to_numpy()
        rarest[here] = rarest_counts(dataset, oof["formulation_id"][here], counts)
    out = error_by_rarest(oof, oof["prediction"].to_numpy(np.float64), rarest)
    out["counted_in"] = "the recipes of the member that predicted it (every fold but its own)"
    return out


def _bounded_index(index: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """``index`` itself up to ``cap`` entries, else a seeded sample of ``cap`` in order."""
    if len(index) <= cap:
        return index
    return np.sort(np.random.default_rng(seed).choice(index, size=cap, replace=False))
