"""Search spaces for ``xai sweep`` and the TOML files around them.

A search space uses the ``[model]`` / ``[train]`` tables of ``models.config``: a plain value is
fixed for every trial, an inline table is searched::

    [model]
    mixer_dim = { type = "categorical", choices = [32, 64] }
    n_layers = { type = "int", low = 1, high = 3 }
    [train]
    epochs = 60
    lr = { type = "float", low = 1e-4, high = 1e-2, log = true }

Optuna sees each searched option as ``table.name``. The best configuration is written back as
a training configuration that ``xai train --config`` reads.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import optuna

from models.config import MODEL_KEYS, TRAIN_KEYS
from models.errors import InputError
from models.mixer import MixerConfig
from models.training import TrainConfig

PARAM_TYPES = ("categorical", "int", "float")


class SpaceError(InputError):
    """A search-space file that cannot be used, naming the file and the problem."""


@dataclass(frozen=True)
class Param:
    """One searched option: ``table`` is ``model`` or ``train``; Optuna sees ``table.name``."""

    table: str
    name: str
    type: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"

    def suggest(self, trial: optuna.Trial):
        if self.type == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high),
                                   step=self.step, log=self.log)

    def grid(self) -> list:
        """Every value a grid search visits."""
        if self.choices is not None:
            return list(self.choices)
        if self.type == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            raise SpaceError(f"{self.key}: a grid search needs choices or a step for a float")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [float(self.low + i * self.step) for i in range(count)]


@dataclass(frozen=True)
class SearchSpace:
    """Searched parameters and the options fixed for every trial."""

    params: tuple[Param, ...]
    fixed_model: dict
    fixed_train: dict

    def grid(self) -> dict[str, list]:
        """Optuna grid: ``{table.name: values}``."""
        return {p.key: p.grid() for p in self.params}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())

    def options(self, params: dict) -> tuple[dict, dict]:
        """(Mixer options, trainer options) for Optuna ``params`` keyed ``table.name``."""
        model, train_options = dict(self.fixed_model), dict(self.fixed_train)
        for key, value in params.items():
            table, name = key.split(".", 1)
            (model if table == "model" else train_options)[name] = value
        return model, train_options


def load_space(path: str | Path) -> SearchSpace:
    """Read a search-space TOML file (see the module docstring)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpaceError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as err:
        raise SpaceError(f"{path}: invalid TOML ({err})") from None
    unknown = sorted(set(data) - {"model", "train"})
    if unknown:
        raise SpaceError(f"{path}: unknown tables {unknown}; expected [model] and [train]")
    params, fixed = [], {"model": {}, "train": {}}
    for table, allowed in (("model", MODEL_KEYS), ("train", TRAIN_KEYS)):
        for name, spec in data.get(table, {}).items():
            if name not in allowed:
                raise SpaceError(f"{path}: unknown key {name!r} in [{table}]; allowed: "
                                 f"{list(allowed)}")
            if isinstance(spec, dict):
                params.append(_param(path, table, name, spec))
            else:
                fixed[table][name] = spec
    if not params:
        raise SpaceError(f"{path}: nothing to search (give at least one parameter as a table)")
    space = SearchSpace(tuple(params), fixed["model"], fixed["train"])
    try:
        model, train_options = space.options({})
        MixerConfig(n_ingredients=2, n_properties=1, **model)
        TrainConfig(**train_options)
    except (TypeError, ValueError) as err:
        raise SpaceError(f"{path}: fixed options are invalid ({err})") from None
    return space


def _param(path: Path, table: str, name: str, spec: dict) -> Param:
    where = f"{path}: [{table}] {name}"
    extra = sorted(set(spec) - {"type", "choices", "low", "high", "log", "step"})
    if extra:
        raise SpaceError(f"{where}: unknown fields {extra}")
    kind = spec.get("type", "categorical" if "choices" in spec else None)
    if kind not in PARAM_TYPES:
        raise SpaceError(f"{where}: type must be one of {PARAM_TYPES}, got {kind!r}")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"{where}: a categorical parameter needs a non-empty choices list")
        return Param(table, name, kind, choices=tuple(choices))
    if "choices" in spec:
        raise SpaceError(f"{where}: choices belong to categorical parameters")
    low, high = spec.get("low"), spec.get("high")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise SpaceError(f"{where}: {kind} parameters need numeric low and high")
    log, step = bool(spec.get("log", False)), spec.get("step")
    if low > high:
        raise SpaceError(f"{where}: low {low} is above high {high}")
    if log and (low <= 0 or step is not None):
        raise SpaceError(f"{where}: a log scale needs low > 0 and no step")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise SpaceError(f"{where}: int parameters need integer low and high")
    return Param(table, name, kind, low=low, high=high, log=log, step=step)


def grid_points(space: SearchSpace) -> set[tuple]:
    """Every grid point as a sorted tuple of (key, value) pairs, for checking a grid sweep."""
    grid = space.grid()
    keys = sorted(grid)
    return {tuple(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[k] for k in keys))}


def with_epochs(space: SearchSpace, epochs: int) -> SearchSpace:
    """The same space with the number of epochs fixed (a command-line override)."""
    params = tuple(p for p in space.params if p.key != "train.epochs")
    return replace(space, params=params, fixed_train={**space.fixed_train, "epochs": epochs})


def write_best_config(path: str | Path, model: dict, train_options: dict, *,
                      comment: str = "") -> None:
    """Write ``[model]`` / ``[train]`` TOML that ``xai train --config`` accepts."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for table, values in (("model", model), ("train", train_options)):
        lines += ["", f"[{table}]"] + [f"{k} = {_toml(v)}" for k, v in sorted(values.items())]
    Path(path).write_text("\n".join(lines).lstrip("\n") + "\n")


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value} to TOML")
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
