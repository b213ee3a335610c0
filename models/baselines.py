"""Simple reference models on the bag of ingredient amounts, fitted on the Mixer's own split.

A Mixer is only worth its complexity if it beats models that see the same recipes as a plain
formulation x ingredient matrix of amounts. Four such baselines (ridge, random forest, gradient
boosting, and ideal mixing: a no-intercept ridge on the amount fractions, the amount-weighted
sum of per-ingredient effects) are fitted per property on ``split.train`` (the validation part
is not used: the ridges pick their penalty by leave-one-out on the training rows, the tree
ensembles keep their defaults), with the same target transform as the Mixer (log where
``dataset.property_transforms()`` says so), and scored on ``split.test`` in
original units with the same metrics as the Mixer's ``metrics["properties"][p]["test"]``.

Amounts enter unscaled: standardising a column that is almost always zero would turn one test
recipe with that ingredient into an extreme input. Predictions are clipped to the range of the
training targets (in transformed units), which trees do by construction and which keeps a
linear model from extrapolating a log target into absurd values. Each fit runs on one thread;
several fits can run at once (``jobs``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from models.data import Dataset
from models.metrics import regression_metrics
from models.splits import Split

FEATURES = "bag of ingredient amounts (formulation x ingredient, original units)"


def _ridge(seed: int):
    return RidgeCV(alphas=np.logspace(-4, 4, 17))


def _random_forest(seed: int):
    return RandomForestRegressor(n_estimators=100, max_features=1 / 3, random_state=seed, n_jobs=1)


def _gradient_boosting(seed: int):
    return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, random_state=seed)


def _ideal_mixing(seed: int):
    # ideal mixing: the property is the amount-weighted mean of per-ingredient effects,
    # y = sum_i x_i b_i with x the amount fractions of the recipe (no intercept)
    return make_pipeline(FunctionTransformer(_fractions),
                         RidgeCV(alphas=np.logspace(-6, 2, 17), fit_intercept=False))


def _fractions(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=1, keepdims=True)
    return np.divide(x, total, out=np.zeros_like(x, dtype=np.float64), where=total > 0)


TREES = ("random_forest", "gradient_boosting")  # the costly fits

BASELINES: dict[str, Callable[[int], object]] = {
    "ridge": _ridge,
    "random_forest": _random_forest,
    "gradient_boosting": _gradient_boosting,
    "ideal_mixing": _ideal_mixing,
}


@dataclass(frozen=True)
class BaselinePredictions:
    """Test-part predictions of each baseline, and the ids the baselines were fitted on.

    ``test_rows`` holds ``formulation_id, property, value`` for every test measurement (original
    units); ``predictions[name]`` is aligned with it, NaN for a property with fewer than two
    training measurements. ``mean_predictor`` predicts each property's training mean.
    """

    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]
    test_rows: pd.DataFrame
    predictions: dict[str, np.ndarray]
    mean_predictor: np.ndarray


def bag_of_amounts(
    recipes: dict[str, tuple[list[str], np.ndarray]],
    formulation_ids: Sequence[str],
    ingredients: Sequence[str],
) -> np.ndarray:
    """(n formulations, n ingredients) amounts; 0 where a recipe lacks an ingredient.

    Ingredients not in ``ingredients`` are left out. A formulation listed several times (one
    row per measurement) is built once and its row repeated.
    """
    column = {name: j for j, name in enumerate(ingredients)}
    unique = {fid: i for i, fid in enumerate(dict.fromkeys(formulation_ids))}
    matrix = np.zeros((len(unique), len(ingredients)))
    for fid, i in unique.items():
        codes, amounts = recipes[fid]
        for code, amount in zip(codes, amounts, strict=True):
            if code in column:
                matrix[i, column[code]] += amount
    return matrix[[unique[fid] for fid in formulation_ids]].reshape(-1, len(ingredients))


def predict_baselines(
    dataset: Dataset, split: Split, *, seed: int, names: Sequence[str] | None = None,
    max_train: int | None = None, jobs: int = 1,
) -> BaselinePredictions:
    """Fit each baseline per property on ``split.train`` and predict ``split.test``.

    With ``max_train``, the baselines are fitted on a seeded sample of at most that many
    training measurements (``models.bounded.bounded_rows``; ``seed`` seeds it), the training
    means of the mean predictor included; below the bound nothing changes. ``jobs`` fits run at
    once, each on one thread, so the predictions do not depend on it."""
    from joblib import Parallel, delayed

    from models.bounded import bounded_rows

    names = list(BASELINES) if names is None else list(names)
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ValueError(f"unknown baselines {unknown}; choose from {list(BASELINES)}")
    recipes = dataset.recipes()
    train = bounded_rows(_rows(dataset.measurements, split.train), max_train, seed)
    test = _rows(dataset.measurements, split.test)
    ingredients = dataset.ingredient_names
    transforms = dataset.property_transforms()
    predictions = {name: np.full(len(test), np.nan) for name in names}
    mean_predictor = np.full(len(test), np.nan)
    y_all = train["value"].to_numpy(np.float64)
    tasks = []
    for prop in sorted(set(test["property"])):
        rows_in = (train["property"] == prop).to_numpy()
        rows_out = (test["property"] == prop).to_numpy()
        y = y_all[rows_in]
        if len(y):
            mean_predictor[rows_out] = y.mean()
        if len(y) >= 2:
            # one matrix per property, shared by its baselines (the test part is large)
            x_in = bag_of_amounts(recipes, train["formulation_id"][rows_in].tolist(), ingredients)
            x_out = bag_of_amounts(recipes, test["formulation_id"][rows_out].tolist(),
                                   ingredients)
            log = transforms.get(prop) == "log"
            tasks += [(len(y) * (name in TREES), name, rows_out,
                       delayed(_fit)(name, x_in, y, x_out, log, seed)) for name in names]
    # the largest fits first, so the threads finish together; threads, as the tree fits release
    # the GIL. BLAS is held to one thread for all of them here, OpenMP in each worker thread
    # (its limit is per thread)
    tasks.sort(key=lambda task: -task[0])
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = Parallel(n_jobs=max(jobs, 1), prefer="threads")(task for *_, task in tasks)
    for (_, name, rows_out, _), predicted in zip(tasks, fitted, strict=True):
        predictions[name][rows_out] = predicted
    return BaselinePredictions(
        train_ids=tuple(split.train),
        test_ids=tuple(split.test),
        test_rows=test,
        predictions=predictions,
        mean_predictor=mean_predictor,
    )


def _fit(name: str, x_train: np.ndarray, y: np.ndarray, x_test: np.ndarray, log: bool,
         seed: int) -> np.ndarray:
    """Baseline ``name`` fitted on one property's training rows; its test predictions in
    original units."""
    target = np.log(y) if log else y
    with threadpool_limits(limits=1, user_api="openmp"):
        model = BASELINES[name](seed)
        model.fit(x_train, target)
        z = np.clip(model.predict(x_test), target.min(), target.max())
    return np.exp(z) if log else z


def fit_baselines(
    dataset: Dataset, split: Split, *, seed: int, names: Sequence[str] | None = None,
    max_train: int | None = None, jobs: int = 1,
) -> dict[str, dict[str, dict]]:
    """Test metrics per baseline per property, original units: ``{name: {property: entry}}``.

    Each entry has the keys of the Mixer's test metrics (``n, mae, rmse, r2,
    mean_predictor_rmse, mean_predictor_r2``) so the two can sit side by side.
    """
    return metrics_from_predictions(predict_baselines(dataset, split, seed=seed, names=names,
                                                      max_train=max_train, jobs=jobs))


def metrics_from_predictions(result: BaselinePredictions) -> dict[str, dict[str, dict]]:
    """Score :class:`BaselinePredictions` per baseline and property."""
    rows = result.test_rows
    y = rows["value"].to_numpy(np.float64)
    out: dict[str, dict[str, dict]] = {name: {} for name in result.predictions}
    for prop in sorted(set(rows["property"])):
        here = (rows["property"] == prop).to_numpy()
        mean_scores = regression_metrics(y[here], result.mean_predictor[here])
        for name, predicted in result.predictions.items():
            entry = regression_metrics(y[here], predicted[here])
            entry["mean_predictor_rmse"] = mean_scores["rmse"]
            entry["mean_predictor_r2"] = mean_scores["r2"]
            out[name][prop] = entry
    return out


def baseline_metrics(
    dataset: Dataset, split: Split, *, seed: int, names: Sequence[str] | None = None,
    max_train: int | None = None, jobs: int = 1,
) -> dict:
    """The ``baselines`` entry of a model's ``metrics.json``.

    ``models`` is :func:`fit_baselines`' result; ``best`` names, per property, the baseline with
    the lowest test RMSE; ``split`` says which split they were scored on (pass the Mixer's);
    with ``max_train``, ``training_sample`` says how many training measurements were fitted.
    """
    models = fit_baselines(dataset, split, seed=seed, names=names, max_train=max_train,
                           jobs=jobs)
    best = {}
    for prop in sorted({p for entries in models.values() for p in entries}):
        scored = [(m[prop]["rmse"], name) for name, m in models.items()
                  if prop in m and np.isfinite(m[prop]["rmse"])]
        if scored:
            best[prop] = min(scored)[1]
    return {
        "features": FEATURES,
        "split": {"method": split.method, "seed": split.seed, "n_train": len(split.train),
                  "n_validation": len(split.validation), "n_test": len(split.test)},
        "seed": int(seed),
        "models": models,
        "best": best,
        **({"training_sample": _training_sample(dataset, split, max_train, seed)}
           if max_train is not None else {}),
    }


def _training_sample(dataset: Dataset, split: Split, max_train: int, seed: int) -> dict:
    from models.bounded import sample_note

    n = len(_rows(dataset.measurements, split.train))
    return {**sample_note(min(n, max_train), n, seed),
            "note": f"each baseline is fitted on a seeded sample of at most {max_train} "
                    "training measurements (all of them below that)"}


def _rows(measurements: pd.DataFrame, formulation_ids) -> pd.DataFrame:
    keep = measurements["formulation_id"].isin(set(formulation_ids))
    return measurements[keep].reset_index(drop=True)
