"""Reference implementations of this project's attributions: shap's explainers on the same
coalition game (for ``xai.attribution.shapley``) and captum's Integrated Gradients on the same
amount path (for ``xai.attribution.integrated_gradients``), and the audit's cross-check of a
seeded sample of its own values against them.

shap knows nothing of recipes, so each case becomes a game over a binary presence vector z of
its n players (1 = present): the model function maps rows of z to coalition values with the same
absence definition as ``xai.attribution.shapley``, the background is the single all-absent row (z =
0) and the explained point is z = 1. One explainer is built per case, since every recipe has its own
players. KernelExplainer runs without L1 feature selection, so it estimates every player. The
model runs through its plain forward on recipes built by ``xai.absence.apply_absence``,
not the fast coalition evaluator, so agreement with ``xai.attribution.shapley`` checks that
evaluator as well.

captum integrates along the path of ``xai.attribution.integrated_gradients`` (players' amounts
from their baseline to the recipe, the balance ingredient holding what they leave of the total
under the ``balance`` absence), with its Gauss-Legendre rule of many steps on the Mixer's plain
forward, not our nested Clenshaw-Curtis rule on the property-token shortcut. (captum's
``riemann_trapezoid`` weights sum to (n - 1) / n, a bias of 1/n that would dwarf the differences
the check looks for.)

shap draws from NumPy's global random state (and PermutationExplainer seeds it); the state is
saved before and restored after each explainer, so callers' randomness is left untouched.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from models.modes import evaluation
from models.numba_cache import SHAP_MODULES, cache_compiled
from xai.absence import REMOVED, Absence, as_absence, players
from xai.attribution.coalitions import Model, make_game, player_slots, to_slots
from xai.attribution.results import Attribution, empty_values
from xai.cases import Cases

EXPLAINERS = ("kernel", "permutation", "exact")
KERNEL_EVERY_COALITION = "shap.KernelExplainer (every coalition)"


def shap_reference(
    mixer: Model,
    cases: Cases,
    *,
    explainer: str = "kernel",
    absence: Absence | str = REMOVED,
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
    absence = as_absence(absence)
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
    """shap, imported on first use (it is slow to import), with numba's cache on for its
    compiled functions; its import-time deprecation warnings about matplotlib colour maps are
    not ours to show."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

        cache_compiled(*SHAP_MODULES)
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


def captum_reference(
    mixer: Model,
    cases: Cases,
    *,
    absence: Absence | str = REMOVED,
    n_steps: int = 1024,
    method: str = "gausslegendre",
    internal_batch_size: int = 8192,
) -> Attribution:
    """Integrated Gradients (N, T) from ``captum.attr.IntegratedGradients`` with ``n_steps``
    steps of ``method``, on the amount path and baseline that ``absence`` sets for
    :func:`xai.attribution.integrated_gradients.integrated_gradients`; standardised model
    units. Method ``captum_ig``; ``delta`` (N,) is captum's completeness gap."""
    from captum.attr import IntegratedGradients

    absence = as_absence(absence)
    is_player = players(cases.mask, cases.balance_slot, absence)
    dtype = (next(mixer.parameters()).dtype if isinstance(mixer, torch.nn.Module)
             else cases.amounts.dtype)
    x = cases.amounts.to(dtype)
    base = x.masked_fill(is_player, 0.0)  # (N, T) every player's amount at 0
    onehot = torch.zeros_like(x)  # (N, T) 1 at the balance slot under the balance absence
    total = torch.zeros(len(cases), dtype=x.dtype)
    if absence.kind == "balance":
        has = cases.balance_slot >= 0
        onehot[has.nonzero().squeeze(1), cases.balance_slot[has]] = 1.0
        total = (x * (is_player | onehot.bool())).sum(1)  # players plus the balance ingredient

    def forward(amounts, property_ids, ids, mask, balance_onehot, total):
        # the balance ingredient holds what the players leave of the total; its own input
        # is ignored, so its gradient is carried by the players' amounts
        others = amounts * (1.0 - balance_onehot)
        left = total[:, None] - (others * mask).sum(1, keepdim=True)
        return mixer(property_ids, ids, others + left * balance_onehot, mask)

    extra = (cases.property_ids, cases.ids, cases.mask, onehot, total)
    with evaluation(mixer):
        values, delta = IntegratedGradients(forward).attribute(
            x, baselines=base, additional_forward_args=extra, n_steps=n_steps, method=method,
            internal_batch_size=internal_batch_size, return_convergence_delta=True)
        with torch.no_grad():
            prediction = forward(x, *extra).double().numpy()
            baseline = forward(base, *extra).double().numpy()
    out = empty_values(cases)
    who = is_player.numpy()
    out[who] = values.detach().double().numpy()[who]
    return Attribution(
        method="captum_ig", absence=absence, formulation_ids=cases.formulation_ids,
        properties=cases.properties, ingredients=cases.ingredients, raw_amounts=cases.raw_amounts,
        values=out, prediction=prediction, baseline=baseline, std_errors=None,
        delta=delta.detach().double().numpy(),
        settings={"units": "standardised model output", "n_steps": n_steps, "rule": method},
    )


def reference_check(
    mixer: Model,
    cases: Cases,
    *,
    shapley: Attribution,
    ig: Attribution,
    n_cases: int = 12,
    max_players: int = 10,
    ig_steps: int = 1024,
    seed: int = 0,
) -> dict:
    """Our ``shapley`` and ``ig`` values (both for exactly ``cases``) against shap's
    KernelExplainer on every coalition and captum's IntegratedGradients (``ig_steps`` steps) on
    a seeded sample of ``n_cases`` cases with 1 to ``max_players`` players whose Shapley values
    were enumerated.

    Given a budget of every coalition, KernelExplainer enumerates them all and its weighted
    regression returns the exact Shapley values (ExactExplainer's to about 1e-14); unlike
    ExactExplainer it needs no numba compilation, which costs about 3 s in every process.

    Returns ``{"shap": ..., "captum": ...}``, each with the reference's name, the absence, the
    number of cases, the largest absolute difference, the largest per case and both value
    lists (players only, case after case); a reference that fails is
    ``{"available": False, "reason": ...}``.
    """
    absence = shapley.absence
    slots = player_slots(cases, absence)
    n_players = np.array([len(s) for s in slots])
    exact = (np.ones(len(cases), dtype=bool) if shapley.exact is None
             else np.asarray(shapley.exact, dtype=bool))
    pool = np.flatnonzero((n_players >= 1) & (n_players <= max_players) & exact)
    if len(pool) == 0:
        none = {"available": False, "reason": f"no explained case has 1 to {max_players} "
                                              "players with enumerated Shapley values"}
        return {"shap": none, "captum": dict(none)}
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(pool, size=min(n_cases, len(pool)), replace=False))
    sample = cases.select(rows)
    references = {
        "shap": (KERNEL_EVERY_COALITION, shapley,
                 lambda: shap_reference(mixer, sample, explainer="kernel", absence=absence,
                                        nsamples=2 ** max_players)),
        "captum": ("captum.attr.IntegratedGradients", ig,
                   lambda: captum_reference(mixer, sample, absence=absence, n_steps=ig_steps)),
    }
    out = {}
    for key, (name, ours, compute) in references.items():
        try:
            reference = compute()
        except Exception as err:  # a broken reference must not cost the audit
            out[key] = {"available": False, "reason": f"{type(err).__name__}: {err}"}
            continue
        entry = {"reference": name}
        if key == "captum":
            entry["n_steps"] = ig_steps
        entry.update(_differences(ours, reference, rows, slots, absence))
        out[key] = entry
    return out


def _differences(ours: Attribution, reference: Attribution, rows: np.ndarray,
                 slots: list[np.ndarray], absence: Absence) -> dict:
    mine = [ours.values[r, slots[r]] for r in rows]
    theirs = [reference.values[i, slots[r]] for i, r in enumerate(rows)]
    per_case = [float(np.max(np.abs(a - b))) for a, b in zip(mine, theirs, strict=True)]
    return {"absence": str(absence), "n_cases": len(rows),
            "max_abs_difference": max(per_case) if per_case else None,
            "per_case_max_abs": per_case,
            "ours": [float(v) for a in mine for v in a],
            "reference_values": [float(v) for b in theirs for v in b]}
