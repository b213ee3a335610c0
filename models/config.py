"""Training configuration files (TOML): a ``[model]`` table of Mixer options and a ``[train]``
table of trainer options. Unknown keys are errors, so a typo never trains the wrong model."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from models.errors import InputError
from models.mixer import MixerConfig
from models.training import TrainConfig

MODEL_KEYS = tuple(f.name for f in fields(MixerConfig) if f.name not in ("n_ingredients",
                                                                        "n_properties"))
TRAIN_KEYS = tuple(f.name for f in fields(TrainConfig))


class ConfigError(InputError):
    """A configuration file that cannot be used, naming the file and the problem."""


def load_config(path: str | Path) -> tuple[dict, TrainConfig]:
    """Read ``path`` into (Mixer options, TrainConfig)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML ({err})") from None
    unknown_tables = sorted(set(data) - {"model", "train"})
    if unknown_tables:
        raise ConfigError(f"{path}: unknown tables {unknown_tables}; expected [model] and [train]")
    model = dict(data.get("model", {}))
    train = dict(data.get("train", {}))
    _check_keys(path, "model", model, MODEL_KEYS)
    _check_keys(path, "train", train, TRAIN_KEYS)
    try:
        MixerConfig(n_ingredients=2, n_properties=1, **model)
        train_config = TrainConfig(**train)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from None
    return model, train_config


def _check_keys(path: Path, table: str, values: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigError(f"{path}: unknown keys in [{table}]: {unknown}; allowed: {list(allowed)}")
