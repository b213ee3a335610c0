"""Training configuration files (TOML): a ``[model]`` table of Mixer options and a ``[train]``
table of trainer options. Unknown keys are errors, so a typo never trains the wrong model; every
value is checked for its type and range (:func:`check_values`) before any work starts, and an
error names the key and its line in the file."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import fields
from pathlib import Path

from models.errors import InputError
from models.mixer import MixerConfig
from models.training import TrainConfig

MODEL_KEYS = tuple(f.name for f in fields(MixerConfig) if f.name not in ("n_ingredients",
                                                                        "n_properties"))
TRAIN_KEYS = tuple(f.name for f in fields(TrainConfig))

# (low, high, low inclusive, high inclusive); None: unbounded on that side. Every numeric
# field of MixerConfig and TrainConfig has an entry; integer fields also must be integers.
RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "n_ingredients": (1, None, True, True),
    "n_properties": (1, None, True, True),
    "base_dim": (1, None, True, True),
    "mixer_dim": (1, None, True, True),
    "n_layers": (1, None, True, True),
    "n_heads": (1, None, True, True),
    "fourier_frequencies": (1, 32, True, True),
    "log_dose_floor": (0, None, True, True),
    "dropout": (0, 1, True, False),
    "ffn_ratio": (1, None, True, True),
    "head_hidden": (1, None, True, True),
    "epochs": (1, None, True, True),
    "batch_size": (1, None, True, True),
    "lr": (0, None, False, True),
    "weight_decay": (0, None, True, True),
    "warmup_epochs": (0, None, True, True),
    "min_lr_ratio": (0, 1, True, True),
    "patience": (1, None, True, True),
    "grad_clip": (0, None, False, True),
    "seed": (0, 2**63 - 1, True, True),
    "snapshot_every": (0, None, True, True),
}
_TYPES = {f.name: getattr(f.type, "__name__", f.type)
          for f in (*fields(MixerConfig), *fields(TrainConfig))}


class ConfigError(InputError):
    """A configuration file that cannot be used, naming the file and the problem."""


def check_values(values: dict) -> list[tuple[str, str]]:
    """The (key, problem) pairs of ``values`` (MixerConfig / TrainConfig fields) whose type or
    range is wrong; ``[]`` when all are usable. Unknown keys are not checked here."""
    problems = []
    for key, value in values.items():
        kind = _TYPES.get(key)
        if kind is None:
            continue
        problem = _type_problem(kind, value)
        if problem is None and key in RANGES:
            problem = _range_problem(RANGES[key], value)
        if problem is not None:
            problems.append((key, problem))
    return problems


def _type_problem(kind: str, value: object) -> str | None:
    shown = repr(value) if not isinstance(value, str | list | dict) or len(str(value)) < 40 \
        else f"a {type(value).__name__}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, got {shown}"
    if kind == "str":
        return None if isinstance(value, str) else f"must be a string, got {shown}"
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be a whole number, got {shown}"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, got {shown}"
        return None if math.isfinite(value) else f"must be a finite number, got {shown}"
    return None


def _range_problem(bounds: tuple, value: float) -> str | None:
    low, high, low_in, high_in = bounds
    too_low = low is not None and (value < low or (not low_in and value == low))
    too_high = high is not None and (value > high or (not high_in and value == high))
    if not (too_low or too_high):
        return None
    left = "" if low is None else f"{'>=' if low_in else '>'} {low:g}"
    right = "" if high is None else f"{'<=' if high_in else '<'} {high:g}"
    return f"must be {' and '.join(p for p in (left, right) if p)}, got {value!r}"


def load_config(path: str | Path) -> tuple[dict, TrainConfig]:
    """Read ``path`` into (Mixer options, TrainConfig)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a TOML file") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start + 1})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML ({err})") from None
    unknown_tables = sorted(set(data) - {"model", "train"})
    if unknown_tables:
        raise ConfigError(f"{path}: unknown tables {unknown_tables}; expected [model] and [train]")
    for table in ("model", "train"):
        if not isinstance(data.get(table, {}), dict):
            raise ConfigError(f"{path}, line {_line(text, None, table)}: '{table}' must be a "
                              f"table ([{table}]), not a value")
    model = dict(data.get("model", {}))
    train = dict(data.get("train", {}))
    _check_keys(path, "model", model, MODEL_KEYS)
    _check_keys(path, "train", train, TRAIN_KEYS)
    problems = [f"{path}, line {_line(text, table, key)}: [{table}] {key} {problem}"
                for table, values in (("model", model), ("train", train))
                for key, problem in check_values(values)]
    if problems:
        raise ConfigError("\n".join(problems))
    try:
        MixerConfig(n_ingredients=2, n_properties=1, **model)
        train_config = TrainConfig(**train)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from None
    return model, train_config


def _line(text: str, table: str | None, key: str) -> int | str:
    """The line of ``key`` in ``[table]`` (top level when None) as an editor numbers it."""
    current = None
    pattern = re.compile(rf"""^\s*(?:"{re.escape(key)}"|'{re.escape(key)}'|{re.escape(key)})"""
                         r"\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).strip("\"'")
            if table is None and current == key:
                return number
            continue
        if current == table and pattern.match(line):
            return number
        if table is not None and current is None and re.match(
                rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line):
            return number  # dotted key: model.epochs = 3
    return "?"


def _check_keys(path: Path, table: str, values: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigError(f"{path}: unknown keys in [{table}]: {unknown}; allowed: {list(allowed)}")
