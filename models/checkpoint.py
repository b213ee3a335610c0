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
import math
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from models.applicability import DOMAIN_FILE, Domain
from models.config import check_values
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
    with atomic_folder(path, kind="checkpoint") as tmp:
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
    """Rebuild a :class:`TrainedModel` from a checkpoint folder written by :func:`save_model`.

    Every file is checked before it is used (JSON types, known keys, value ranges, finite
    weights and non-zero target scales); a :class:`CheckpointError` names the file and the key.
    """
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint folder (it does not exist or is a file)")
    config = _read_json(path, "config.json")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path / 'config.json'}: format version {version!r}, "
                              f"this version of mixer-xai reads {FORMAT_VERSION}")
    mixer_config, train_config = _configs(path / "config.json", config)
    vocab = _read_json(path, "vocabularies.json")
    scalers = _read_json(path, "scalers.json")
    encoder = _encoder(path, vocab, scalers)
    if mixer_config.n_ingredients != encoder.n_ingredient_ids or (
        mixer_config.n_properties != len(encoder.properties)
    ):
        raise CheckpointError(f"{path}: config.json and vocabularies.json disagree on the "
                              "number of ingredients or properties")
    mixer = build_mixer(mixer_config, seed=0)
    weights_file = path / "model.safetensors"
    weights = _read_tensors(weights_file)
    _check_shapes(mixer.state_dict(), weights, weights_file)
    _check_finite(weights, weights_file)
    mixer.load_state_dict(weights)
    mixer.eval()
    history = _history(path / "history.json", _read_json(path, "history.json"))
    if (path / "snapshots.safetensors").is_file():
        history.snapshots = _snapshots(path / "snapshots.safetensors", mixer_config)
    split_file = path / "split.json"
    return TrainedModel(
        mixer=mixer,
        encoder=encoder,
        train_config=train_config,
        split=_split(split_file, _read_json(path, "split.json")) if split_file.is_file() else None,
        metrics=_read_json(path, "metrics.json"),
        history=history,
        provenance=_read_json(path, "provenance.json"),
        ensemble=load_ensemble(path, mixer_config, _read_json),
        conformal=Conformal.from_dict(_read_json(path, CONFORMAL_FILE))
        if (path / CONFORMAL_FILE).is_file() else None,
        domain=Domain.from_dict(_read_json(path, DOMAIN_FILE))
        if (path / DOMAIN_FILE).is_file() else None,
    )


# ------------------------------------------------------------------ checks of each file


def _configs(file: Path, config: dict) -> tuple[MixerConfig, TrainConfig]:
    """MixerConfig and TrainConfig from config.json, every key and value checked."""
    built = []
    for key, cls in (("mixer", MixerConfig), ("train", TrainConfig)):
        values = _entry(file, config, key, dict)
        if cls is MixerConfig:  # written before the dose feature existed: trained without it
            values = {"log_dose_floor": 0.0, **values}
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise CheckpointError(f"{file}: unknown keys in '{key}': {unknown}")
        missing = [f.name for f in fields(cls) if f.name not in values
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise CheckpointError(f"{file}: '{key}' lacks {missing}")
        problems = check_values(values)
        if problems:
            raise CheckpointError(f"{file}: " + "; ".join(f"{key}.{k} {p}" for k, p in problems))
        try:
            built.append(cls(**values))
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{file}: '{key}': {err}") from None
    return built[0], built[1]


def _encoder(path: Path, vocab: dict, scalers: dict) -> Encoder:
    vfile, sfile = path / "vocabularies.json", path / "scalers.json"
    names = {}
    for key in ("ingredients", "properties"):
        items = _entry(vfile, vocab, key, list)
        if not all(isinstance(i, str) for i in items):
            raise CheckpointError(f"{vfile}: '{key}' must be a list of strings")
        if len(set(items)) != len(items):
            raise CheckpointError(f"{vfile}: '{key}' lists a name twice")
        names[key] = items
    if not names["properties"]:
        raise CheckpointError(f"{vfile}: 'properties' is empty")
    scale = _entry(sfile, scalers, "amount_scale", float)
    if not (math.isfinite(scale) and scale > 0):
        raise CheckpointError(f"{sfile}: 'amount_scale' must be finite and positive, got {scale}")
    slots = _entry(sfile, scalers, "max_ingredients", int)
    if slots < 1:
        raise CheckpointError(f"{sfile}: 'max_ingredients' must be at least 1, got {slots}")
    targets = _entry(sfile, scalers, "targets", dict)
    missing = [p for p in names["properties"] if p not in targets]
    if missing:
        raise CheckpointError(f"{sfile}: 'targets' lacks properties {missing[:5]}")
    for prop, entry in targets.items():
        where = f"targets.{prop}"
        if not isinstance(entry, dict) or set(entry) != {"transform", "mean", "std"}:
            raise CheckpointError(f"{sfile}: '{where}' must hold transform, mean and std")
        if entry["transform"] not in ("log", "identity"):
            raise CheckpointError(f"{sfile}: '{where}.transform' must be log or identity, got "
                                  f"{entry['transform']!r}")
        for key in ("mean", "std"):
            value = _entry(sfile, entry, key, float, where=f"{where}.{key}")
            if not math.isfinite(value) or (key == "std" and value <= 0):
                what = "finite and positive" if key == "std" else "finite"
                raise CheckpointError(f"{sfile}: '{where}.{key}' must be {what}, got {value}")
    return Encoder.from_dict({
        "ingredients": names["ingredients"], "properties": names["properties"],
        "amount_scale": scale, "max_ingredients": slots, "scalers": targets,
    })


_HISTORY_TYPES = {"epochs": list, "best_epoch": int, "best_validation_loss": float,
                  "stop_reason": str}


def _history(file: Path, data: dict) -> History:
    unknown = sorted(set(data) - set(_HISTORY_TYPES))
    if unknown:
        raise CheckpointError(f"{file}: unknown keys {unknown}; expected "
                              f"{sorted(_HISTORY_TYPES)}")
    values = {k: _entry(file, data, k, kind) for k, kind in _HISTORY_TYPES.items() if k in data}
    if not all(isinstance(e, dict) for e in values.get("epochs", [])):
        raise CheckpointError(f"{file}: 'epochs' must be a list of objects")
    return History(**values)


def _split(file: Path, data: dict) -> Split:
    for key in ("train", "validation", "test"):
        ids = _entry(file, data, key, list)
        if not all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids):
            raise CheckpointError(f"{file}: '{key}' must be a list of formulation ids")
    _entry(file, data, "seed", int)
    _entry(file, data, "method", str)
    try:
        return Split.from_dict(data)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{file}: {err}") from None


def _snapshots(file: Path, config: MixerConfig) -> list[dict]:
    tensors = _read_tensors(file)
    expected = {"epochs", "ingredients", "properties"}
    if set(tensors) != expected:
        raise CheckpointError(f"{file}: holds tensors {sorted(tensors)}, expected "
                              f"{sorted(expected)}")
    n = tensors["epochs"].shape[0] if tensors["epochs"].ndim == 1 else -1
    # the mixer's ingredient_table() (padding row excluded) and property_table()
    for key, rows in (("ingredients", config.n_ingredients - 1),
                      ("properties", config.n_properties)):
        shape = tuple(tensors[key].shape)
        if len(shape) != 3 or shape[0] != n or shape[1] != rows:
            raise CheckpointError(f"{file}: '{key}' has shape {shape}, expected ({n}, {rows}, "
                                  "dim) for config.json")
    _check_finite(tensors, file)
    return _unpack_snapshots(tensors)


def _read_tensors(file: Path) -> dict[str, torch.Tensor]:
    if not file.is_file():
        raise CheckpointError(f"{file}: missing")
    try:
        return load_file(file)
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{file}: not a readable safetensors file ({err})") from err


def _check_finite(tensors: dict[str, torch.Tensor], file: Path) -> None:
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{file}: tensor '{key}' holds NaN or infinite values")


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a whole number",
               float: "a number"}


def _entry(file: Path, data: dict, key: str, kind: type, *, where: str | None = None):
    """``data[key]`` if it is of JSON type ``kind`` (a float may be written as an int)."""
    where = where or key
    if key not in data:
        raise CheckpointError(f"{file}: '{where}' is missing")
    value = data[key]
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    if not ok:
        raise CheckpointError(f"{file}: '{where}' must be {_JSON_NAMES[kind]}, not "
                              f"{_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return _JSON_NAMES.get(type(value), type(value).__name__)


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
    """A checkpoint JSON file holding an object; anything else is a :class:`CheckpointError`."""
    file = path / name
    if not file.is_file():
        raise CheckpointError(f"{file}: missing (is {path} a checkpoint folder?)")
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{file}: cannot be read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise CheckpointError(f"{file}, line {line}: not UTF-8 text (byte {err.start + 1}); "
                              "not a file mixer-xai wrote") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{file}, line {err.lineno}: invalid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{file}: must hold a JSON object, not {_json_type(data)}")
    return data
