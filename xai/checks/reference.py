"""shap's own explainers on the same coalition game, as a reference for ``xai.attribution.shapley``.

shap knows nothing of recipes, so each case becomes a game over a binary presence vector z of
its n players (1 = present): the model function maps rows of z to coalition values with the same
absence definition as ``xai.attribution.shapley``, the background is the single all-absent row (z =
0) and the explained point is z = 1. One explainer is built per case, since every recipe has its own
players. KernelExplainer runs without L1 feature selection, so it estimates every player. The
model runs through its plain forward on recipes built by ``xai.attribution.absence.apply_absence``,
not the fast coalition evaluator, so agreement with ``xai.attribution.shapley`` checks that
evaluator as well.

shap draws from NumPy's global random state (and PermutationExplainer seeds it); the state is
saved before and restored after each explainer, so callers' randomness is left untouched.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from xai.attribution.absence import check_absence
from xai.attribution.coalitions import Model, make_game, player_slots, to_slots
from xai.attribution.results import Attribution, empty_values
from xai.cases import Cases

EXPLAINERS = ("kernel", "permutation", "exact")


def shap_reference(
    mixer: Model,
    cases: Cases,
    *,
    explainer: str = "kernel",
    absence: str = "removed",
    nsamples: int | None = None,
    seed: int = 0,
) -> Attribution:
    """Shapley values (N, T) from shap's ``explainer`` (kernel, permutation or exact), in
    standardised model units.

    ``nsamples`` is KernelExplainer's ``nsamples`` or the permutation / exact explainers'
    ``max_evals`` (None: shap's defaults, and 2^n + 2 for exact). ``mixer`` is a Mixer or any
    callable with its forward signature. Method ``shap_kernel`` / ``shap_permutation`` /
    ``shap_exact``; ``std_errors`` is None.
    """
    if explainer not in EXPLAINERS:
        raise ValueError(f"explainer must be one of {EXPLAINERS}, not {explainer!r}")
    check_absence(absence)
    N, T = cases.ids.shape
    slots = player_slots(cases, absence)
    game = make_game(mixer, cases, absence, fast=False)
    values = empty_values(cases)
    prediction, baseline = np.full(N, np.nan), np.full(N, np.nan)
    run = {"kernel": _kernel, "permutation": _permutation, "exact": _exact}[explainer]
    for r in range(N):
        n = len(slots[r])

        def f(z: np.ndarray, r: int = r) -> np.ndarray:
            z = np.asarray(z).reshape(-1, len(slots[r])) > 0.5
            return game(np.full(len(z), r, dtype=np.int64), to_slots(slots[r], z, T))

        ends = f(np.stack([np.zeros(n), np.ones(n)]))
        baseline[r], prediction[r] = ends
        if n:
            with _numpy_global_state(seed + r):
                values[r, slots[r]] = run(f, n, nsamples, seed + r)
    return Attribution(
        method=f"shap_{explainer}", absence=absence, formulation_ids=cases.formulation_ids,
        properties=cases.properties, ingredients=cases.ingredients, raw_amounts=cases.raw_amounts,
        values=values, prediction=prediction, baseline=baseline, std_errors=None,
        settings={"units": "standardised model output", "explainer": explainer,
                  "nsamples": nsamples, "seed": seed},
        n_players=np.array([len(s) for s in slots], dtype=np.int64),
    )


def _kernel(f: Callable, n: int, nsamples: int | None, seed: int) -> np.ndarray:
    shap = _shap()
    explainer = shap.KernelExplainer(f, np.zeros((1, n)))
    phi = explainer.shap_values(np.ones((1, n)), nsamples="auto" if nsamples is None else nsamples,
                                l1_reg=False, silent=True)
    return np.asarray(phi, dtype=np.float64).reshape(n)


def _permutation(f: Callable, n: int, nsamples: int | None, seed: int) -> np.ndarray:
    shap = _shap()
    masker = shap.maskers.Independent(np.zeros((1, n)), max_samples=1)
    explainer = shap.PermutationExplainer(f, masker, seed=seed)
    result = explainer(np.ones((1, n)), max_evals="auto" if nsamples is None else nsamples,
                       silent=True)
    return np.asarray(result.values, dtype=np.float64).reshape(n)


def _exact(f: Callable, n: int, nsamples: int | None, seed: int) -> np.ndarray:
    shap = _shap()
    masker = shap.maskers.Independent(np.zeros((1, n)), max_samples=1)
    explainer = shap.ExactExplainer(f, masker)
    result = explainer(np.ones((1, n)), max_evals=2**n + 2 if nsamples is None else nsamples,
                       silent=True)
    return np.asarray(result.values, dtype=np.float64).reshape(n)


def _shap():
    """shap, imported on first use (it is slow to import); its import-time deprecation
    warnings about matplotlib colour maps are not ours to show."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    return shap


@contextmanager
def _numpy_global_state(seed: int) -> Iterator[None]:
    """Seed NumPy's global random state for shap, and put the caller's state back afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
