"""Dataset in, trained and evaluated Mixer out: the one place that strings stage 1 together."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pandas as pd

from models.data import DataError, Dataset, Problem
from models.descriptors import descriptor_options, fill_descriptors
from models.encoding import Encoder
from models.metrics import regression_metrics
from models.mixer import MixerConfig, build_mixer
from models.splits import Split, random_split
from models.trained import TrainedModel
from models.training import TrainConfig, train

DEFAULT_MAX_INGREDIENTS = 64


def measured_formulations(dataset: Dataset) -> list[str]:
    """Formulations with at least one measurement, in order of first appearance."""
    measured = set(dataset.measurements["formulation_id"])
    return [f for f in dataset.formulation_ids if f in measured]


def fit_model(
    dataset: Dataset,
    *,
    mixer_options: dict | None = None,
    train_config: TrainConfig | None = None,
    split: Split | None = None,
    progress: bool = True,
    on_epoch: Callable[[int, dict], bool | None] | None = None,
) -> TrainedModel:
    """Train a Mixer on ``split.train``, stop early on ``split.validation``, score ``split.test``.

    The ingredient vocabulary is every ingredient in the dataset: one that appears only in
    validation or test recipes keeps an untrained vector that weight decay pulls towards zero.

    ``mixer_options`` are :class:`MixerConfig` fields other than the vocabulary sizes. Without a
    split, a seeded random 70/10/20 split by formulation is drawn from ``train_config.seed``.
    ``on_epoch`` is passed to :func:`models.training.train` (pruning in sweeps).
    """
    train_config = train_config or TrainConfig()
    if split is None:
        measured = measured_formulations(dataset)
        try:
            split = random_split(measured, seed=train_config.seed)
        except ValueError:
            raise DataError(dataset.root, [Problem(
                "measurements.csv", None, f"{len(measured)} measured formulations are too few "
                "to train on: a train, validation and test split needs at least 3")]) from None
    recipes = dataset.recipes()
    train_rows = _rows(dataset.measurements, split.train)
    max_ingredients = max(
        DEFAULT_MAX_INGREDIENTS, max((len(codes) for codes, _ in recipes.values()), default=1)
    )
    encoder = Encoder.fit(
        {f: recipes[f] for f in split.train},
        list(train_rows[["formulation_id", "property", "value"]]
             .itertuples(index=False, name=None)),
        dataset.property_transforms(),
        max_ingredients=max_ingredients,
        ingredients=dataset.ingredient_names,
        properties=dataset.property_names,
    )
    options, descriptors = descriptor_options(dataset.root, mixer_options)
    config = MixerConfig(
        n_ingredients=encoder.n_ingredient_ids,
        n_properties=len(encoder.properties),
        **options,
    )
    model = TrainedModel(build_mixer(config, seed=train_config.seed), encoder, train_config, split)
    fill_descriptors(model.mixer, encoder.ingredients, descriptors)
    validation_rows = _rows(dataset.measurements, split.validation)
    model.history = train(
        model.mixer,
        model.samples(train_rows, recipes),
        model.samples(validation_rows, recipes),
        train_config,
        progress=progress,
        on_epoch=on_epoch,
    )
    model.metrics = evaluate(model, dataset, split)
    model.provenance = {"data_hash": dataset_hash(dataset), "data_root": str(dataset.root)}
    return model


def evaluate(model: TrainedModel, dataset: Dataset, split: Split) -> dict:
    """Per-property metrics in original units on each split part, with reference scores.

    ``test`` carries MAE / RMSE / R^2 / n (and ``r2_log``, R^2 of the logarithms, for
    log-transformed properties), the mean predictor's RMSE and R^2 (the training mean
    of the property), and, when the dataset has a synthetic ground truth, the oracle R^2: the
    noise-free truth scored on the same rows, the ceiling any model can reach.
    """
    recipes = dataset.recipes()
    parts = {}
    for part in ("train", "validation", "test"):
        rows = _rows(dataset.measurements, getattr(split, part))
        parts[part] = (rows, model.predict([recipes[f] for f in rows["formulation_id"]],
                                           rows["property"].tolist())
                       if len(rows) else np.zeros(0))
    return metrics_from_predictions(model, dataset, split, parts)


def metrics_from_predictions(model: TrainedModel, dataset: Dataset, split: Split,
                             parts: dict[str, tuple[pd.DataFrame, np.ndarray]]) -> dict:
    """:func:`evaluate`'s result from measurement rows and their predictions, per split part
    (``parts[part] = (rows, predictions)``; a part's rows may be a sample of it)."""
    result: dict = {"properties": {}, "summary": {}}
    train_means = (
        _rows(dataset.measurements, split.train).groupby("property")["value"].mean().to_dict()
    )
    for part in ("train", "validation", "test"):
        rows, predictions = parts[part]
        for prop in model.properties:
            here = (rows["property"] == prop).to_numpy()
            y = rows["value"].to_numpy(np.float64)[here]
            entry = regression_metrics(y, predictions[here])
            if model.encoder.scalers[prop].transform == "log" and len(y):
                # Heavy-tailed properties: R^2 in original units is ruled by the few largest
                # values, so the scale the model is fitted on is reported beside it.
                entry["r2_log"] = regression_metrics(np.log(y), np.log(predictions[here]))["r2"]
            if part == "test":
                baseline = np.full(len(y), train_means.get(prop, np.nan))
                mean_scores = regression_metrics(y, baseline)
                entry["mean_predictor_rmse"] = mean_scores["rmse"]
                entry["mean_predictor_r2"] = mean_scores["r2"]
                entry["oracle_r2"] = _oracle_r2(dataset, rows[here], prop)
            result["properties"].setdefault(prop, {})[part] = entry
    counts = dataset.measurements["property"].value_counts().to_dict()
    result["summary"] = metrics_summary(result["properties"], counts)
    return result


def metrics_summary(per_property: dict, counts: dict[str, int]) -> dict:
    """The headline numbers: median test R^2 over well-measured properties (>= 200
    measurements), and which properties with >= 100 measurements beat the mean predictor."""
    tests = {p: m["test"] for p, m in per_property.items()}
    well = [tests[p]["r2"] for p in tests
            if counts.get(p, 0) >= 200 and np.isfinite(tests[p]["r2"])]
    checked = [p for p in tests if counts.get(p, 0) >= 100 and tests[p]["n"] > 0]
    return {
        "median_test_r2_200plus": float(np.median(well)) if well else float("nan"),
        "properties_200plus": len(well),
        "beats_mean_predictor_100plus": sorted(
            p for p in checked if tests[p]["rmse"] < tests[p]["mean_predictor_rmse"]
        ),
        "loses_to_mean_predictor_100plus": sorted(
            p for p in checked if tests[p]["rmse"] >= tests[p]["mean_predictor_rmse"]
        ),
    }


def _oracle_r2(dataset: Dataset, rows: pd.DataFrame, prop: str) -> float | None:
    truth = dataset.truth
    if not truth or len(rows) < 2 or prop not in truth.get("property_groups", {}):
        return None
    from models.synth import oracle_predict

    recipes = dataset.recipes()
    codes = [recipes[f][0] for f in rows["formulation_id"]]
    amounts = [recipes[f][1] for f in rows["formulation_id"]]
    clean = oracle_predict(truth, codes, amounts, prop)
    return regression_metrics(rows["value"].to_numpy(np.float64), clean)["r2"]


def _rows(measurements: pd.DataFrame, formulation_ids) -> pd.DataFrame:
    return measurements[measurements["formulation_id"].isin(set(formulation_ids))].reset_index(
        drop=True
    )


def dataset_hash(dataset: Dataset) -> str:
    """SHA-256 of the formulations and measurements as loaded (order-sensitive)."""
    digest = hashlib.sha256()
    for frame in (dataset.formulations, dataset.measurements):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
