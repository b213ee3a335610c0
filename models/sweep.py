"""Hyperparameter search with Optuna, shareable between processes and machines.

The search space comes from a TOML file (``models.sweep_space``). Every trial trains on the
same seeded split (train / validation / test by formulation) and is scored by its best
validation loss (mean squared error over all validation measurements, in standardised units);
the test part is never looked at, so choosing the best trial does not leak test data. With the
median pruner, a trial whose validation loss trails the median of earlier trials at the same
epoch is stopped early.

The study lives in an Optuna storage (SQLite file or any database URL Optuna accepts).
Workers started anywhere with the same storage and study name join the study and share its
trials; ``n_trials`` is the study's total, so two workers asked for 10 run 10 between them.
"""

from __future__ import annotations

import importlib.util
import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from tqdm.auto import tqdm

from models.choices import SAMPLERS
from models.data import Dataset
from models.encoding import Encoder
from models.experiments import split_digest
from models.mixer import MixerConfig, build_mixer
from models.pipeline import DEFAULT_MAX_INGREDIENTS, dataset_hash, measured_formulations
from models.splits import Split, random_split
from models.sweep_space import SearchSpace
from models.trained import TrainedModel
from models.training import History, TrainConfig, train

OBJECTIVE = "best validation loss: mean squared error over validation measurements, standardised"


# ------------------------------------------------------------------------------- samplers


class PerTrialSeed(BaseSampler):
    """Wraps a sampler factory so trial ``n`` samples with seed ``(seed, n)``.

    Workers sharing a study would draw identical parameters if each seeded its sampler the
    same way; seeding per trial number keeps every trial's draw distinct and reproducible
    whichever worker runs it.
    """

    def __init__(self, factory: Callable[[int], BaseSampler], seed: int) -> None:
        self._factory = factory
        self._seed = seed
        self._inner = factory(seed)

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        entropy = np.random.SeedSequence([self._seed, trial.number]).generate_state(1)[0]
        return self._factory(int(entropy))

    def before_trial(self, study, trial) -> None:
        self._inner = self._for(trial)
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self._inner.after_trial(study, trial, state, values)


def make_sampler(name: str, space: SearchSpace, *, seed: int) -> BaseSampler:
    """``tpe``, ``random`` or ``grid``. Grid order depends on ``seed`` only, and trial ``n``
    takes grid point ``n``, so every worker must use the same seed (they do by default)."""
    if name == "grid":
        return GridSampler(space.grid(), seed=seed)
    if name == "random":
        return PerTrialSeed(lambda s: RandomSampler(seed=s), seed)
    if name == "tpe":
        return PerTrialSeed(lambda s: TPESampler(seed=s), seed)
    raise ValueError(f"sampler must be one of {SAMPLERS}, not {name!r}")


def make_storage(url: str) -> optuna.storages.RDBStorage:
    """An Optuna database storage; a heartbeat marks trials of crashed workers as failed."""
    url = database_url(url)
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                          heartbeat_interval=30, grace_period=120)


def database_url(url: str) -> str:
    """``url`` with a PostgreSQL driver SQLAlchemy can load.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as the psycopg 3 driver; where only psycopg2
    is installed (the ``postgres`` extra), the URL is pointed at it instead.
    """
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
        return f"postgresql+psycopg2{sep}{rest}"
    return f"postgresql{sep}{rest}"


def open_study(storage: str, study_name: str, *, sampler: BaseSampler,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """Create the study or join it; retried because workers may start at the same moment."""
    for attempt in range(5):
        try:
            return optuna.create_study(storage=make_storage(storage), study_name=study_name,
                                       direction="minimize", sampler=sampler,
                                       pruner=pruner or optuna.pruners.NopPruner(),
                                       load_if_exists=True)
        except (OperationalError, IntegrityError, ProgrammingError):
            # workers creating the schema at the same moment collide; the loser retries
            if attempt == 4:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------- the sweep


def run_sweep(
    dataset: Dataset,
    space: SearchSpace,
    *,
    storage: str,
    study_name: str,
    n_trials: int | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    split_seed: int = 0,
    prune: bool = True,
    progress: bool = True,
) -> optuna.Study:
    """Run trials until the study holds ``n_trials`` (all states counted) and return it.

    For ``grid``, ``n_trials`` defaults to, and is capped at, the grid size; other samplers
    need it. The split is ``random_split(measured formulations, seed=split_seed)``; the study
    records its digest and the data hash, and a worker with different data or split refuses
    to join. ``progress`` shows a bar of the trials this worker ran.
    """
    if sampler == "grid":
        n_trials = min(n_trials or space.grid_size(), space.grid_size())
    if n_trials is None or n_trials < 1:
        raise ValueError("n_trials must be a positive number (optional only for a grid)")
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
              if prune else optuna.pruners.NopPruner())
    study = open_study(storage, study_name, sampler=make_sampler(sampler, space, seed=seed),
                       pruner=pruner)
    split = random_split(measured_formulations(dataset), seed=split_seed)
    _claim(study, "split_digest", split_digest(split.train, split.validation, split.test))
    _claim(study, "data_hash", dataset_hash(dataset))
    if len(study.get_trials(deepcopy=False)) >= n_trials:
        return study

    def objective(trial: optuna.Trial) -> float:
        if trial.number >= n_trials:  # lost a race with another worker for the last trial
            trial.set_user_attr("surplus", True)
            study.stop()
            raise optuna.TrialPruned("the study already has its trials")
        return _objective(trial, dataset, split, space)

    bar = tqdm(desc=f"sweep {study_name}", unit="trial", disable=not progress, leave=False)
    study.optimize(objective, gc_after_trial=False,
                   callbacks=[MaxTrialsCallback(n_trials, states=None), lambda *_: bar.update()])
    bar.close()
    return study


def _claim(study: optuna.Study, key: str, value: str) -> None:
    current = study.user_attrs.get(key)
    if current is None:
        study.set_user_attr(key, value)
    elif current != value:
        raise ValueError(f"study {study.study_name!r} was run with a different {key} "
                         f"({current} here {value}); use a new study name")


def _objective(trial: optuna.Trial, dataset: Dataset, split: Split, space: SearchSpace) -> float:
    values = {p.key: p.suggest(trial) for p in space.params}
    mixer_options, train_options = space.options(values)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    try:
        MixerConfig(n_ingredients=2, n_properties=1, **mixer_options)
        train_config = TrainConfig(**train_options)
    except (TypeError, ValueError) as err:
        trial.set_user_attr("invalid", str(err))
        raise optuna.TrialPruned(f"invalid configuration: {err}") from None
    pruned = False

    def on_epoch(epoch: int, record: dict) -> bool:
        nonlocal pruned
        loss = record["validation_loss"]
        if math.isfinite(loss):
            trial.report(loss, epoch)
            pruned = trial.should_prune()
        return pruned

    history = fit_for_sweep(dataset, split, mixer_options, train_config, on_epoch=on_epoch)
    trial.set_user_attr("best_epoch", history.best_epoch)
    trial.set_user_attr("epochs_run", len(history.epochs))
    trial.set_user_attr("stop_reason", history.stop_reason)
    if pruned:
        raise optuna.TrialPruned(f"pruned at epoch {len(history.epochs) - 1}")
    if not math.isfinite(history.best_validation_loss):
        raise optuna.TrialPruned("no finite validation loss")
    return float(history.best_validation_loss)


def fit_for_sweep(
    dataset: Dataset, split: Split, mixer_options: dict, train_config: TrainConfig, *,
    on_epoch: Callable[[int, dict], bool | None] | None = None,
) -> History:
    """Train a Mixer as ``models.pipeline.fit_model`` does, with an epoch callback, and return
    its history (no test evaluation)."""
    recipes = dataset.recipes()
    rows = dataset.measurements
    train_rows = rows[rows["formulation_id"].isin(set(split.train))].reset_index(drop=True)
    val_rows = rows[rows["formulation_id"].isin(set(split.validation))].reset_index(drop=True)
    encoder = Encoder.fit(
        {f: recipes[f] for f in split.train},
        list(train_rows[["formulation_id", "property", "value"]]
             .itertuples(index=False, name=None)),
        dataset.property_transforms(),
        max_ingredients=max(DEFAULT_MAX_INGREDIENTS, max(len(c) for c, _ in recipes.values())),
        ingredients=dataset.ingredient_names,
        properties=dataset.property_names,
    )
    config = MixerConfig(n_ingredients=encoder.n_ingredient_ids,
                         n_properties=len(encoder.properties), **mixer_options)
    model = TrainedModel(build_mixer(config, seed=train_config.seed), encoder, train_config, split)
    return train(model.mixer, model.samples(train_rows, recipes), model.samples(val_rows, recipes),
                 train_config, progress=False, on_epoch=on_epoch)


# ------------------------------------------------------------------------------- results


def completed(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that trained to the end, by number."""
    return sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                  key=lambda t: t.number)


def best_options(study: optuna.Study, space: SearchSpace) -> tuple[dict, dict] | None:
    """(Mixer options, trainer options) of the best completed trial, or None if none is."""
    if not completed(study):
        return None
    return space.options(study.best_trial.params)


def sweep_results(study: optuna.Study, space: SearchSpace) -> dict:
    """Every trial of the study and the best one, JSON-able, for ``sweep.json``."""
    trials = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        trials.append({
            "number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
            "duration_s": duration, "epochs_reported": len(t.intermediate_values),
            **{k: t.user_attrs[k] for k in sorted(t.user_attrs)},
        })
    states = {s.name: sum(t["state"] == s.name for t in trials) for s in TrialState}
    best = None
    options = best_options(study, space)
    if options is not None:
        b = study.best_trial
        best = {"number": b.number, "value": b.value, "params": b.params,
                "model": options[0], "train": options[1]}
    return {
        "kind": "sweep",
        "study": study.study_name,
        "direction": "minimize",
        "objective": OBJECTIVE,
        "split_digest": study.user_attrs.get("split_digest"),
        "data_hash": study.user_attrs.get("data_hash"),
        "space": {p.key: {k: v for k, v in vars(p).items() if v is not None and k != "table"}
                  for p in space.params},
        "fixed": {"model": space.fixed_model, "train": space.fixed_train},
        "states": {k: v for k, v in states.items() if v},
        "trials": trials,
        "best": best,
    }


