"""Small data: cross-fitted ensembles and refitting on all the data.

A lab's few hundred recipes make every single split a gamble: a validation set of 40 recipes
picks the stopping epoch by noise, and a 20 % test set wastes data the deployed model never
sees. :mod:`models.plans` chooses between:

- **single**: the usual train / validation / test split (:func:`models.pipeline.fit_model`);
  with ``refit``, then retrained on every recipe for the epoch count chosen on validation (the
  test metrics are those measured before the refit, and say so).
- **ensemble of K** (the default under :data:`SMALL_DATA_RECIPES` recipes): K members, member i
  trained on every fold but fold i (early-stopped on a smoothed loss of a small validation part
  of those folds) and predicting fold i. Every recipe thus gets an out-of-fold prediction from a
  model that never saw it, which gives honest metrics on all of the data and the residuals for
  cross-validation intervals. A prediction is the members' mean (in standardised model
  units), their spread is reported. The model analysed by ``explain`` / ``represent`` is
  refitted on every recipe for the members' median best epoch count (with ``refit``; else
  member 0).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.torch import load_file, save_file

from models.data import Dataset
from models.descriptors import descriptor_options, fill_descriptors
from models.encoding import Encoder
from models.io import write_json
from models.metrics import regression_metrics
from models.mixer import Mixer, MixerConfig, build_mixer
from models.pipeline import (
    DEFAULT_MAX_INGREDIENTS,
    dataset_hash,
    evaluate,
    measured_formulations,
    metrics_summary,
)
from models.splits import Split, kfold_splits
from models.trained import TrainedModel
from models.training import TrainConfig, predict_samples, train

SMALL_DATA_ENSEMBLE = 5
MEMBERS_FOLDER = "members"
ENSEMBLE_FILE = "ensemble.json"


@dataclass
class Ensemble:
    """Cross-fitted members sharing the primary model's encoder.

    ``mixers[i]`` never saw ``folds[i]``; ``best_epochs[i]`` is where its smoothed validation
    loss was lowest; ``oof`` holds one row per measurement: ``formulation_id, property, value,
    member`` (the member that did not see it), ``z_value`` and ``z_prediction`` (standardised
    model units) and ``prediction`` (original units).
    """

    mixers: list[Mixer]
    folds: list[tuple[str, ...]]
    best_epochs: list[int]
    oof: pd.DataFrame

    def __len__(self) -> int:
        return len(self.mixers)


def member_predictions(model: TrainedModel, recipes: Sequence[tuple[Sequence[str], np.ndarray]],
                       properties: Sequence[str]) -> np.ndarray:
    """(K, N) standardised predictions of every member of ``model.ensemble``."""
    frame = pd.DataFrame({"formulation_id": [str(i) for i in range(len(recipes))],
                          "property": list(properties), "value": np.nan})
    samples = model.samples(frame, {str(i): r for i, r in enumerate(recipes)})
    return np.stack([predict_samples(m, samples) for m in model.ensemble.mixers])


def predict_with_spread(model: TrainedModel, recipes, properties) -> tuple[np.ndarray, np.ndarray]:
    """Predictions in original units and the members' standard deviation (0 without an
    ensemble): the members' mean in standardised units, transformed back."""
    if getattr(model, "ensemble", None) is None:
        return model.predict(recipes, properties), np.zeros(len(recipes))
    z = member_predictions(model, recipes, properties)
    props = list(properties)
    members = np.stack([model.encoder.from_standard(props, row) for row in z])
    return model.encoder.from_standard(props, z.mean(0)), members.std(0)


def refit_all(model: TrainedModel, dataset: Dataset, *, epochs: int,
              progress: bool = False) -> TrainedModel:
    """``model`` retrained from scratch on every measured recipe for ``epochs`` epochs (no
    validation, no early stopping). Its metrics are ``model``'s, measured before the refit on
    the held-out split, with ``metrics["refit"]`` saying so."""
    ids = measured_formulations(dataset)
    mixer, history = _train_fixed(model, dataset, ids, epochs, progress)
    refitted = TrainedModel(mixer, model.encoder, model.train_config,
                            Split(tuple(sorted(ids)), (), (), model.train_config.seed, "refit"),
                            metrics=copy.deepcopy(model.metrics), history=history,
                            provenance=dict(model.provenance))
    refitted.metrics["refit"] = {
        "epochs": epochs, "n_formulations": len(ids),
        "note": "metrics were measured on the held-out split before refitting on all data; "
                "the refitted model has seen every recipe"}
    return refitted


def fit_ensemble(dataset: Dataset, *, k: int = SMALL_DATA_ENSEMBLE, refit: bool = True,
                 mixer_options: dict | None = None, train_config: TrainConfig | None = None,
                 progress: bool = False) -> TrainedModel:
    """K cross-fitted members, out-of-fold metrics on every recipe, and the primary model
    (refitted on all recipes at the members' median best epoch, or member 0)."""
    cfg = train_config or TrainConfig()
    ids = measured_formulations(dataset)
    splits = kfold_splits(ids, k=k, seed=cfg.seed, validation=0.1)
    encoder = _encoder(dataset, ids)
    options, descriptors = descriptor_options(dataset.root, mixer_options)
    config = MixerConfig(n_ingredients=encoder.n_ingredient_ids,
                         n_properties=len(encoder.properties), **options)
    shell = TrainedModel(build_mixer(config, seed=cfg.seed), encoder, cfg)
    fill_descriptors(shell.mixer, encoder.ingredients, descriptors)
    recipes = dataset.recipes()
    m = dataset.measurements[dataset.measurements["property"].isin(encoder.properties)]
    mixers, best, oof, histories = [], [], [], []
    for i, split in enumerate(splits):
        member_cfg = replace(cfg, seed=cfg.seed + i)
        mixer = build_mixer(config, seed=member_cfg.seed)
        fill_descriptors(mixer, encoder.ingredients, descriptors)
        history = train(mixer, shell.samples(_rows(m, split.train), recipes),
                        shell.samples(_rows(m, split.validation), recipes), member_cfg,
                        progress=progress)
        held = _rows(m, split.test)
        samples = shell.samples(held, recipes)
        z = predict_samples(mixer, samples)
        oof.append(held.assign(member=i, z_value=samples.targets.numpy().astype(np.float64),
                               z_prediction=z,
                               prediction=encoder.from_standard(held["property"].tolist(), z)))
        mixers.append(mixer)
        best.append(history.best_epoch)
        histories.append(history)
    oof_frame = pd.concat(oof, ignore_index=True)
    ensemble = Ensemble(mixers, [s.test for s in splits], best, oof_frame)
    epochs = int(np.median(best)) + 1
    if refit:
        mixer, history = _train_fixed(shell, dataset, ids, epochs, progress)
        split = Split(tuple(sorted(ids)), (), (), cfg.seed, f"refit after {k}-fold cross-fitting")
    else:
        mixer, history, split = mixers[0], histories[0], splits[0]
    model = TrainedModel(mixer, encoder, cfg, split, history=history,
                         provenance={"data_hash": dataset_hash(dataset),
                                     "data_root": str(dataset.root)})
    model.ensemble = ensemble
    model.metrics = evaluate(model, dataset, split)
    model.metrics["out_of_fold"] = out_of_fold_metrics(oof_frame, dataset, splits)
    for prop, entry in model.metrics["out_of_fold"]["properties"].items():
        model.metrics["properties"].setdefault(prop, {})["test"] = entry
    counts = dataset.measurements["property"].value_counts().to_dict()
    model.metrics["summary"] = metrics_summary(model.metrics["properties"], counts)
    model.metrics["evaluation"] = (
        f"test metrics are out-of-fold: each recipe predicted by the member of a {k}-fold "
        "cross-fitted ensemble that did not see it")
    model.metrics["ensemble"] = {"k": k, "best_epochs": best, "refit_epochs": epochs,
                                 "refit": refit}
    return model


def out_of_fold_metrics(oof: pd.DataFrame, dataset: Dataset, splits: Sequence[Split]) -> dict:
    """Per-property metrics of the out-of-fold predictions in original units, with the mean
    predictor (each fold predicted by the mean of the other folds) beside them."""
    fold_of = {f: i for i, s in enumerate(splits) for f in s.test}
    m = dataset.measurements
    out: dict = {"properties": {}}
    for prop, rows in oof.groupby("property", sort=True):
        y = rows["value"].to_numpy(np.float64)
        entry = regression_metrics(y, rows["prediction"].to_numpy(np.float64))
        values = m[m["property"] == prop]
        folds = values["formulation_id"].map(fold_of)
        mean_of_others = np.array([values.loc[folds != fold_of[f], "value"].mean()
                                   for f in rows["formulation_id"]])
        baseline = regression_metrics(y, mean_of_others)
        entry["mean_predictor_rmse"] = baseline["rmse"]
        entry["mean_predictor_r2"] = baseline["r2"]
        entry["oracle_r2"] = None
        out["properties"][str(prop)] = entry
    return out


def save_ensemble(ensemble: Ensemble | None, folder: Path) -> None:
    """Members as ``members/member_<i>.safetensors`` and ``ensemble.json`` (folds, best epochs,
    out-of-fold predictions); nothing without an ensemble."""
    if ensemble is None:
        return
    (folder / MEMBERS_FOLDER).mkdir()
    for i, mixer in enumerate(ensemble.mixers):
        state = {k: v.detach().contiguous() for k, v in mixer.state_dict().items()}
        save_file(state, folder / MEMBERS_FOLDER / f"member_{i}.safetensors")
    write_json(folder / ENSEMBLE_FILE, {
        "k": len(ensemble), "folds": [list(f) for f in ensemble.folds],
        "best_epochs": ensemble.best_epochs,
        "oof": {c: ensemble.oof[c].tolist() for c in ensemble.oof.columns},
    })


def load_ensemble(folder: Path, config: MixerConfig, read_json) -> Ensemble | None:
    """The ensemble saved by :func:`save_ensemble` (None when the folder has none);
    ``read_json(folder, name)`` reads and checks a JSON file of the checkpoint."""
    if not (folder / ENSEMBLE_FILE).is_file():
        return None
    data = read_json(folder, ENSEMBLE_FILE)
    mixers = []
    for i in range(int(data["k"])):
        mixer = build_mixer(config, seed=0)
        mixer.load_state_dict(load_file(folder / MEMBERS_FOLDER / f"member_{i}.safetensors"))
        mixer.eval()
        mixers.append(mixer)
    oof = pd.DataFrame(data["oof"])
    oof["formulation_id"] = oof["formulation_id"].astype(str)
    return Ensemble(mixers, [tuple(map(str, f)) for f in data["folds"]],
                    [int(e) for e in data["best_epochs"]], oof)


def _train_fixed(model: TrainedModel, dataset: Dataset, ids: Sequence[str], epochs: int,
                 progress: bool):
    cfg = replace(model.train_config, epochs=epochs, patience=epochs + 1, smoothing=1)
    recipes = dataset.recipes()
    m = dataset.measurements[dataset.measurements["property"].isin(model.encoder.properties)]
    rows = _rows(m, ids)
    mixer = build_mixer(model.mixer.config, seed=cfg.seed)
    # fresh weights, with the trained model's descriptor buffers (values and their scaling)
    mixer.load_state_dict(mixer.state_dict() | {
        k: v for k, v in model.mixer.state_dict().items() if k.startswith("descriptor")})
    # no validation: the trainer then tracks the training loss and keeps its best epoch
    history = train(mixer, model.samples(rows, recipes), model.samples(rows.iloc[:0], recipes),
                    cfg, progress=progress)
    history.stop_reason = f"refit on all {len(set(ids))} recipes for {epochs} epochs"
    return mixer, history


def _encoder(dataset: Dataset, ids: Sequence[str]) -> Encoder:
    recipes = dataset.recipes()
    rows = _rows(dataset.measurements, ids)
    width = max(DEFAULT_MAX_INGREDIENTS,
                max((len(codes) for codes, _ in recipes.values()), default=1))
    return Encoder.fit({f: recipes[f] for f in ids},
                       list(rows[["formulation_id", "property", "value"]]
                            .itertuples(index=False, name=None)),
                       dataset.property_transforms(), max_ingredients=width,
                       ingredients=dataset.ingredient_names, properties=dataset.property_names)


def _rows(measurements: pd.DataFrame, ids) -> pd.DataFrame:
    return measurements[measurements["formulation_id"].isin(set(ids))].reset_index(drop=True)


__all__ = ["Ensemble", "fit_ensemble", "load_ensemble", "member_predictions",
           "predict_with_spread", "refit_all", "save_ensemble"]
