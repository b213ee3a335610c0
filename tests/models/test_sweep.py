"""Hyperparameter sweeps: search spaces, samplers, shared studies (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from models.config import load_config
from models.sweep import (
    PerTrialSeed,
    best_options,
    database_url,
    make_sampler,
    run_sweep,
    sweep_results,
)
from models.sweep_space import SpaceError, grid_points, load_space, write_best_config

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"

TINY_SPACE = """
[model]
base_dim = 8
mixer_dim = {mixer_dim}
n_layers = 1
n_heads = 2
head_hidden = 16
[train]
epochs = 1
lr = {lr}
"""


def _space(tmp_path: Path, *, mixer_dim: str = '{ choices = [8, 16] }',
           lr: str = '{ type = "float", low = 1e-3, high = 3e-3, step = 2e-3 }') -> Path:
    path = tmp_path / "space.toml"
    path.write_text(TINY_SPACE.format(mixer_dim=mixer_dim, lr=lr))
    return path


# ------------------------------------------------------------------------------- spaces


def test_load_space_reads_searched_and_fixed_options(tmp_path):
    space = load_space(_space(tmp_path))
    assert [p.key for p in space.params] == ["model.mixer_dim", "train.lr"]
    assert space.fixed_model["n_heads"] == 2 and space.fixed_train == {"epochs": 1}
    assert space.grid() == {"model.mixer_dim": [8, 16], "train.lr": [0.001, 0.003]}
    assert space.grid_size() == 4
    model, train = space.options({"model.mixer_dim": 16, "train.lr": 0.003})
    assert model["mixer_dim"] == 16 and train == {"epochs": 1, "lr": 0.003}


def test_example_space_is_valid():
    space = load_space(ROOT / "configs" / "sweep.toml")
    assert {p.key for p in space.params} >= {"train.lr", "model.mixer_dim"}


@pytest.mark.parametrize(("text", "message"), [
    ("[model]\ncolour = { choices = [1] }", "unknown key"),
    ("[model]\nmixer_dim = { type = 'int', low = 8 }", "numeric low and high"),
    ("[train]\nlr = { type = 'float', low = 0.0, high = 1.0, log = true }", "log scale"),
    ("[train]\nlr = { type = 'wide', low = 0.0, high = 1.0 }", "type must be"),
    ("[model]\nmixer_dim = { choices = [] }", "non-empty choices"),
    ("[train]\nepochs = 3", "nothing to search"),
    ("[optimiser]\nlr = 1", "unknown tables"),
    ("[model]\namount_encoding = 'log'\nn_layers = { choices = [1] }", "fixed options"),
    ("[model\n", "invalid TOML"),
])
def test_bad_spaces_are_reported(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpaceError, match=message):
        load_space(path)


def test_grid_needs_enumerable_values(tmp_path):
    space = load_space(_space(tmp_path, lr='{ type = "float", low = 1e-3, high = 3e-3 }'))
    with pytest.raises(SpaceError, match="needs choices or a step"):
        space.grid()


def test_best_config_round_trips_through_load_config(tmp_path):
    path = tmp_path / "best.toml"
    write_best_config(path, {"mixer_dim": 16, "amount_encoding": "fourier", "layer_norm": True},
                      {"lr": 0.0012, "epochs": 5}, comment="best trial 3")
    model, train = load_config(path)
    assert model == {"mixer_dim": 16, "amount_encoding": "fourier", "layer_norm": True}
    assert train.lr == 0.0012 and train.epochs == 5
    assert path.read_text().startswith("# best trial 3\n")


# ------------------------------------------------------------------------------- samplers


def _text_space(folder: Path, text: str):
    path = folder / f"space-{uuid.uuid4().hex}.toml"
    path.write_text(text)
    return load_space(path)


def _draws(space, sampler_name: str, seed: int, n: int) -> list[dict]:
    study = optuna.create_study(sampler=make_sampler(sampler_name, space, seed=seed))
    study.optimize(lambda t: sum(p.suggest(t) for p in space.params), n_trials=n)
    return [t.params for t in study.trials]


@pytest.mark.parametrize("name", ["random", "tpe"])
def test_trial_seeds_make_draws_reproducible_and_distinct(name, tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = _text_space(tmp_path, "[train]\nlr = { type = 'float', low = 1e-4, high = 1e-1, "
                                  "log = true }\nepochs = { type = 'int', low = 1, high = 50 }")
    assert isinstance(make_sampler(name, space, seed=0), PerTrialSeed)
    first, second = _draws(space, name, 3, 4), _draws(space, name, 3, 4)
    assert first == second  # any worker running trial n draws the same values
    assert len({tuple(sorted(p.items())) for p in first}) == 4
    assert _draws(space, name, 4, 4) != first


# ------------------------------------------------------------------------------- sweeps


def test_grid_sweep_visits_exactly_the_grid(tiny_dataset, tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(_space(tmp_path))
    storage = f"sqlite:///{tmp_path / 'sweep.db'}"
    study = run_sweep(tiny_dataset, space, storage=storage, study_name="grid", sampler="grid",
                      prune=False, progress=False)
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    visited = {tuple(sorted(t.params.items())) for t in trials}
    assert visited == grid_points(space)
    # Asking again for a full study runs nothing more.
    again = run_sweep(tiny_dataset, space, storage=storage, study_name="grid", sampler="grid",
                      n_trials=10, progress=False)
    assert len(again.get_trials()) == 4
    model, train = best_options(again, space)
    assert model["mixer_dim"] in (8, 16) and train["epochs"] == 1
    results = sweep_results(again, space)
    assert results["states"] == {"COMPLETE": 4} and results["best"]["number"] in range(4)
    assert results["split_digest"] and results["data_hash"]


def test_a_study_refuses_a_different_split(tiny_dataset, tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(_space(tmp_path, mixer_dim="8"))
    storage = f"sqlite:///{tmp_path / 'sweep.db'}"
    run_sweep(tiny_dataset, space, storage=storage, study_name="s", n_trials=1,
              sampler="random", progress=False)
    with pytest.raises(ValueError, match="different split_digest"):
        run_sweep(tiny_dataset, space, storage=storage, study_name="s", n_trials=2,
                  sampler="random", split_seed=1, progress=False)


WORKER = """
import sys, optuna, torch
torch.set_num_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)
from models.data import load_dataset
from models.sweep import run_sweep
from models.sweep_space import load_space
run_sweep(load_dataset(sys.argv[1]), load_space(sys.argv[2]), storage=sys.argv[3],
          study_name=sys.argv[4], n_trials=int(sys.argv[5]), sampler="random", progress=False)
"""


def _two_workers(data_dir: Path, space: Path, storage: str, study: str, n_trials: int) -> None:
    script = textwrap.dedent(WORKER)
    args = [sys.executable, "-c", script, str(data_dir), str(space), storage, study,
            str(n_trials)]
    workers = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    for w in workers:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0, err[-3000:]


def _check_shared_study(storage: str, study: str, n_trials: int) -> None:
    trials = optuna.load_study(study_name=study, storage=database_url(storage)).get_trials()
    real = [t for t in trials if not t.user_attrs.get("surplus")]
    assert sorted(t.number for t in real) == list(range(n_trials))
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in real)
    assert len(trials) - len(real) <= 1  # at most one trial lost a race, and never trained
    params = [tuple(sorted(t.params.items())) for t in real]
    assert len(set(params)) == len(params)


def test_two_workers_share_one_sqlite_study(tiny_data_dir, tmp_path):
    space = _space(tmp_path, mixer_dim="8", lr='{ type = "float", low = 1e-4, high = 1e-2 }')
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    _two_workers(tiny_data_dir, space, storage, "shared", 5)
    _check_shared_study(storage, "shared", 5)


def _postgres_url() -> str:
    url = os.environ.get("MIXER_XAI_POSTGRES_URL", POSTGRES_DEFAULT)
    try:
        import psycopg2
    except ImportError:
        pytest.skip("psycopg2 is not installed (pip install '.[postgres]')")
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError as err:
        pytest.skip(f"no PostgreSQL server reachable at {url.split('@')[-1]} "
                    f"(set MIXER_XAI_POSTGRES_URL): {str(err).strip()[:200]}")
    return url


def test_two_workers_share_one_postgresql_study(tiny_data_dir, tmp_path):
    url = _postgres_url()
    study = f"mixer-xai-test-{uuid.uuid4().hex[:12]}"
    space = _space(tmp_path, mixer_dim="8", lr='{ type = "float", low = 1e-4, high = 1e-2 }')
    try:
        _two_workers(tiny_data_dir, space, url, study, 4)
        _check_shared_study(url, study, 4)
    finally:
        try:
            optuna.delete_study(study_name=study, storage=database_url(url))
        except KeyError:
            pass
