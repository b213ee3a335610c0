"""Search methods over the recipe encoding, all at the same budget of scored candidates.

- ``nsga2``: pymoo's NSGA-II with the recipe-aware operators of ``xai.inverse.operators``;
  objectives (all minimised): the summed distance to the (shrunken) target ranges, the distance
  to the nearest training recipe beyond the data's own spacing, and in counterfactual mode the
  size of the change from the start recipe.
- ``random``: the same sampler that seeds NSGA-II's first population, at the full budget.
- ``tpe``: Optuna's TPE over the same amount vector (one float per usable ingredient, decoded
  by the same repair), its first trials the same kind of sampled recipes as NSGA-II's first
  population; it minimises the sum of the objectives above (TPE takes one objective).

Every method returns its :class:`Archive`: every candidate it scored, so the returned designs
are chosen the same way (``xai.inverse.diversity``) whatever found them.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from xai.inverse.operators import crossover, mutate, repair, sample
from xai.inverse.problem import DesignSpace, Evaluation
from xai.inverse.scoring import Scorer

__all__ = ["METHODS", "Archive", "objectives", "run_method"]

METHODS = ("nsga2", "random", "tpe")


@dataclass(frozen=True)
class Archive:
    """Every candidate a method scored: ``x`` (N, V) and its :class:`Evaluation`."""

    method: str
    x: np.ndarray
    evaluation: Evaluation
    seconds: float

    @property
    def evaluations(self) -> int:
        return len(self.x)


class _Recorder:
    def __init__(self) -> None:
        self.xs: list[np.ndarray] = []
        self.evs: list[Evaluation] = []

    def add(self, x: np.ndarray, ev: Evaluation) -> None:
        self.xs.append(np.array(x, dtype=np.float64))
        self.evs.append(ev)

    def archive(self, method: str, seconds: float, n_vars: int) -> Archive:
        if not self.xs:
            empty = np.zeros((0,))
            ev = Evaluation(np.zeros((0, 0)), np.zeros((0, 0)), empty, empty, empty, empty)
            return Archive(method, np.zeros((0, n_vars)), ev, seconds)
        cat = lambda name: np.concatenate([getattr(e, name) for e in self.evs])  # noqa: E731
        ev = Evaluation(z=cat("z"), target_distance=cat("target_distance"),
                        search_distance=cat("search_distance"),
                        data_distance=cat("data_distance"), changes=cat("changes"),
                        centrality=cat("centrality"))
        return Archive(method, np.concatenate(self.xs), ev, seconds)


def objectives(space: DesignSpace, ev: Evaluation) -> np.ndarray:
    """(N, 2 or 3) objectives of NSGA-II, all minimised (see the module docstring)."""
    cols = [ev.search_distance, np.clip(ev.data_distance - space.spacing, 0, None)]
    if space.start is not None:
        cols.append(ev.changes)
    return np.column_stack(cols)


def run_method(method: str, space: DesignSpace, scorer: Scorer, *, budget: int, seed: int,
               pop_size: int = 100) -> Archive:
    """Run one search ``method`` for ``budget`` scored candidates."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if budget < 2:
        raise ValueError("budget must be at least 2 candidates")
    recorder = _Recorder()
    start = time.perf_counter()
    {"nsga2": _nsga2, "random": _random, "tpe": _tpe}[method](
        space, scorer, recorder, budget=budget, seed=seed, pop_size=min(pop_size, budget))
    return recorder.archive(method, time.perf_counter() - start, space.n_vars)


def _scored(space: DesignSpace, scorer: Scorer, recorder: _Recorder, x: np.ndarray) -> Evaluation:
    ev = scorer.evaluate(x)
    recorder.add(x, ev)
    return ev


# -- NSGA-II ----------------------------------------------------------------------------------

def _nsga2(space: DesignSpace, scorer: Scorer, recorder: _Recorder, *, budget: int, seed: int,
           pop_size: int) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.crossover import Crossover
    from pymoo.core.mutation import Mutation
    from pymoo.core.problem import Problem
    from pymoo.core.repair import Repair
    from pymoo.core.sampling import Sampling
    from pymoo.optimize import minimize

    n_obj = 2 + (space.start is not None)

    class RecipeProblem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=space.n_vars, n_obj=n_obj, xl=np.zeros(space.n_vars),
                             xu=np.maximum(space.high, 1e-9))

        def _evaluate(self, x, out, *args, **kwargs):
            out["F"] = objectives(space, _scored(space, scorer, recorder, x))

    class RecipeSampling(Sampling):
        def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
            return sample(space, n_samples, random_state)

    class RecipeCrossover(Crossover):
        def __init__(self) -> None:
            super().__init__(n_parents=2, n_offsprings=2, prob=0.9)

        def _do(self, problem, X, *args, random_state=None, **kwargs):
            a, b = crossover(space, X[0], X[1], random_state)  # X is (2, n_matings, V)
            return np.stack([a, b])

    class RecipeMutation(Mutation):
        def _do(self, problem, X, *args, random_state=None, **kwargs):
            return mutate(space, X, random_state)

    class RecipeRepair(Repair):
        # pymoo hands repair no random state; it keeps its own, seeded from the run's seed
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng([seed, 1])

        def _do(self, problem, X, **kwargs):
            return repair(space, X, self.rng)

    algorithm = NSGA2(pop_size=pop_size, sampling=RecipeSampling(), crossover=RecipeCrossover(),
                      mutation=RecipeMutation(), repair=RecipeRepair(),
                      eliminate_duplicates=True)
    # whole generations only (each scores pop_size offspring), so the budget is never overshot
    n_gen = max(1, budget // pop_size)
    minimize(RecipeProblem(), algorithm, ("n_gen", n_gen), seed=seed, verbose=False)


# -- random search ----------------------------------------------------------------------------

def _random(space: DesignSpace, scorer: Scorer, recorder: _Recorder, *, budget: int, seed: int,
            pop_size: int) -> None:
    rng = np.random.default_rng([seed, 2])
    for s in range(0, budget, 1000):
        _scored(space, scorer, recorder, sample(space, min(1000, budget - s), rng))


# -- TPE --------------------------------------------------------------------------------------

def _tpe(space: DesignSpace, scorer: Scorer, recorder: _Recorder, *, budget: int, seed: int,
         pop_size: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    usable = ~space.banned & ~space.fixed
    if space.balance is not None:
        usable[space.balance] = False
    dims = np.flatnonzero(usable)
    names = [f"x{j}" for j in dims]
    space_of = {n: optuna.distributions.FloatDistribution(0.0, float(max(space.high[j], 1e-6)))
                for n, j in zip(names, dims, strict=True)}
    rng = np.random.default_rng([seed, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=pop_size)
        study = optuna.create_study(sampler=sampler)
        for row in sample(space, pop_size, rng):
            study.enqueue_trial({n: float(row[j]) for n, j in zip(names, dims, strict=True)})
        done = 0
        while done < budget:
            batch = [study.ask(space_of) for _ in range(min(pop_size, budget - done))]
            x = np.zeros((len(batch), space.n_vars))
            for i, trial in enumerate(batch):
                x[i, dims] = [trial.params[n] for n in names]
            x[:, space.fixed] = space.fixed_amount[space.fixed]
            x = repair(space, x, rng)
            values = objectives(space, _scored(space, scorer, recorder, x)).sum(1)
            for trial, v in zip(batch, values, strict=True):
                study.tell(trial, float(v))
            done += len(batch)
