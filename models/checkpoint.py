"""Checkpoints: a folder of safetensors and JSON that describes itself. Loading never unpickles.

    model.safetensors      the Mixer's weights
    config.json            format version, MixerConfig, TrainConfig
    vocabularies.json      ingredient and property names, in id order
    scalers.json           amount scale and per-property target transforms
    metrics.json           per-property metrics and the headline summary
    history.json           per-epoch losses and the stopping reason
    split.json             the formulation ids of each split part
    provenance.json        data hash, package versions
    snapshots.safetensors  embedding tables every k epochs (only when snapshots were kept)
    members/, ensemble.json  cross-fitted ensemble members and their out-of-fold predictions
                           (only for an ensemble; see models.ensemble)
    conformal.json         calibration residuals of the prediction intervals (models.conformal)
    domain.json            the training recipes' applicability domain (models.applicability)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from models.applicability import DOMAIN_FILE, Domain
from models.conformal import CONFORMAL_FILE, Conformal
from models.encoding import Encoder
from models.ensemble import load_ensemble, save_ensemble
from models.errors import InputError
from models.io import atomic_folder, write_json
from models.mixer import MixerConfig, build_mixer
from models.splits import Split
from models.trained import TrainedModel
from models.training import History, TrainConfig

FORMAT_VERSION = 1


class CheckpointError(InputError):
    """A checkpoint folder that cannot be loaded, with the reason."""


def save_model(model: TrainedModel, path: str | Path) -> Path:
    """Write ``model`` to the folder ``path``, replacing it only once everything is written."""
    path = Path(path)
    with atomic_folder(path) as tmp:
        state = {k: v.detach().contiguous() for k, v in model.mixer.state_dict().items()}
        save_file(state, tmp / "model.safetensors")
        encoder = model.encoder.to_dict()
        write_json(tmp / "config.json", {
            "format_version": FORMAT_VERSION,
            "mixer": model.mixer.config.to_dict(),
            "train": model.train_config.to_dict(),
        })
        write_json(tmp / "vocabularies.json", {
            "ingredients": encoder["ingredients"], "properties": encoder["properties"],
        })
        write_json(tmp / "scalers.json", {
            "amount_scale": encoder["amount_scale"],
            "max_ingredients": encoder["max_ingredients"],
            "targets": encoder["scalers"],
        })
        write_json(tmp / "metrics.json", model.metrics)
        write_json(tmp / "history.json", model.history.to_dict())
        write_json(tmp / "provenance.json", model.provenance)
        if model.split is not None:
            write_json(tmp / "split.json", model.split.to_dict())
        save_ensemble(model.ensemble, tmp)
        if model.conformal is not None:
            write_json(tmp / CONFORMAL_FILE, model.conformal.to_dict())
        if model.domain is not None:
            write_json(tmp / DOMAIN_FILE, model.domain.to_dict())
        if model.history.snapshots:
            save_file(_pack_snapshots(model.history.snapshots), tmp / "snapshots.safetensors")
    return path


def load_model(path: str | Path) -> TrainedModel:
    """Rebuild a :class:`TrainedModel` from a checkpoint folder written by :func:`save_model`."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint folder (it does not exist or is a file)")
    config = _read_json(path, "config.json")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path / 'config.json'}: format version {version!r}, "
                              f"this version of mixer-xai reads {FORMAT_VERSION}")
    vocab = _read_json(path, "vocabularies.json")
    scalers = _read_json(path, "scalers.json")
    try:
        # Checkpoints written before the dose feature existed were trained without it.
        mixer_config = MixerConfig(**{"log_dose_floor": 0.0, **config["mixer"]})
        train_config = TrainConfig(**config["train"])
        encoder = Encoder.from_dict({
            "ingredients": vocab["ingredients"], "properties": vocab["properties"],
            "amount_scale": scalers["amount_scale"], "max_ingredients": scalers["max_ingredients"],
            "scalers": scalers["targets"],
        })
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: malformed configuration ({err})") from err
    if mixer_config.n_ingredients != encoder.n_ingredient_ids or (
        mixer_config.n_properties != len(encoder.properties)
    ):
        raise CheckpointError(f"{path}: config.json and vocabularies.json disagree on the "
                              "number of ingredients or properties")
    mixer = build_mixer(mixer_config, seed=0)
    weights_file = path / "model.safetensors"
    if not weights_file.is_file():
        raise CheckpointError(f"{weights_file}: missing")
    try:
        weights = load_file(weights_file)
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{weights_file}: not a readable safetensors file ({err})") from err
    _check_shapes(mixer.state_dict(), weights, weights_file)
    mixer.load_state_dict(weights)
    mixer.eval()
    history = History(**_read_json(path, "history.json"))
    if (path / "snapshots.safetensors").is_file():
        history.snapshots = _unpack_snapshots(load_file(path / "snapshots.safetensors"))
    split_file = path / "split.json"
    return TrainedModel(
        mixer=mixer,
        encoder=encoder,
        train_config=train_config,
        split=Split.from_dict(_read_json(path, "split.json")) if split_file.is_file() else None,
        metrics=_read_json(path, "metrics.json"),
        history=history,
        provenance=_read_json(path, "provenance.json"),
        ensemble=load_ensemble(path, mixer_config, _read_json),
        conformal=Conformal.from_dict(_read_json(path, CONFORMAL_FILE))
        if (path / CONFORMAL_FILE).is_file() else None,
        domain=Domain.from_dict(_read_json(path, DOMAIN_FILE))
        if (path / DOMAIN_FILE).is_file() else None,
    )


def _check_shapes(expected: dict, found: dict, file: Path) -> None:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = [f"{k}: expected {tuple(expected[k].shape)}, found {tuple(found[k].shape)}"
             for k in expected if k in found and expected[k].shape != found[k].shape]
    problems = ([f"missing tensors {missing}"] if missing else []) + (
        [f"unexpected tensors {extra}"] if extra else []) + wrong
    if problems:
        raise CheckpointError(f"{file}: weights do not match config.json: " + "; ".join(problems))


def _pack_snapshots(snapshots: list[dict]) -> dict[str, torch.Tensor]:
    return {
        "epochs": torch.tensor([s["epoch"] for s in snapshots], dtype=torch.int64),
        "ingredients": torch.from_numpy(np.stack([s["ingredients"] for s in snapshots])),
        "properties": torch.from_numpy(np.stack([s["properties"] for s in snapshots])),
    }


def _unpack_snapshots(tensors: dict[str, torch.Tensor]) -> list[dict]:
    return [
        {"epoch": int(e), "ingredients": i.numpy(), "properties": p.numpy()}
        for e, i, p in zip(tensors["epochs"], tensors["ingredients"], tensors["properties"],
                           strict=True)
    ]


def _read_json(path: Path, name: str) -> dict:
    file = path / name
    if not file.is_file():
        raise CheckpointError(f"{file}: missing (is {path} a checkpoint folder?)")
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{file}, line {err.lineno}: invalid JSON ({err.msg})") from err
