"""Shapley values: this project's exact and sampled estimators against shap's explainers.

Every method explains the same recipes of each size, for one property, with the ``removed``
absence (shap through ``xai.checks.reference``, which drives the plain Mixer forward with the same
absence definition). Single recipes are timed one call per recipe, so the median is over the
recipes of a size. Errors are against this project's exact enumeration where it is run:
``max_abs_error`` is the largest |phi_j - exact_j| over the recipes' ingredients, and
``max_rel_error`` the largest sum_j |phi_j - exact_j| / |f(recipe) - f(nothing)| over recipes
(the L1 error as a share of what the values must add up to). All values are in the property's
standardised model units.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from bench.fixture import Recipe, recipe_cases, recipes_of_size
from bench.machine import load_average
from bench.timing import profile_top, timed, timed_each
from models.trained import TrainedModel
from xai.attribution.results import Attribution
from xai.attribution.shapley import shapley_values
from xai.cases import Cases
from xai.checks.reference import shap_reference

SHAP_METHODS = ("kernel", "permutation", "exact")


@dataclass(frozen=True)
class ShapleyConfig:
    """What to run. ``exact_limit``: largest size enumerated by this project's exact estimator
    (the reference for errors); ``shap_exact_limit`` / ``plain_exact_limit``: largest size for
    shap's ExactExplainer and for exact enumeration through the plain (unspecialised) forward.
    ``kernel_batch_recipes`` of the batch are explained by KernelExplainer (one explainer per
    recipe, so its batch time is its per-recipe time times the batch size). ``shap_methods``
    are the shap explainers compared. ``sampler`` is how the sampled estimator spends its
    budget (``shapley_values``' default); at equal wall time the other sampler is run with the
    same budget beside it."""

    sizes: tuple[int, ...] = (6, 10, 14, 20, 30)
    recipes_per_size: int = 5
    exact_limit: int = 20
    shap_exact_limit: int = 14
    plain_exact_limit: int = 14
    permutations: tuple[int, ...] = (16, 64, 256, 1024, 4096)
    se_target: float = 0.01
    se_target_sizes: tuple[int, ...] = (20, 30)
    se_target_cap: int = 16384
    batch_players: int = 10
    batch_recipes: int = 1000
    batch_repeats: int = 3
    kernel_batch_recipes: int = 100
    shap_methods: tuple[str, ...] = SHAP_METHODS
    property: str = "viscosity_4pin_10rpm"
    seed: int = 0
    sampler: str = "kernel"


def run_shapley(model: TrainedModel, pool: list[Recipe], config: ShapleyConfig, *,
                say: Callable[[str], None] = print) -> dict:
    """All Shapley measurements as a JSON-able dict (see ``bench.markdown`` for the tables)."""
    mixer = model.mixer.eval()
    _warm_up(mixer, model, pool, config)
    sizes = {}
    for n in config.sizes:
        say(f"shapley: {n} ingredients")
        recipes = recipes_of_size(pool, n, config.recipes_per_size)
        cases = recipe_cases(model, recipes, [config.property] * len(recipes))
        sizes[str(n)] = _one_size(mixer, cases, n, config)
    say("shapley: batch")
    batch = _batch(mixer, model, pool, config)
    say("shapley: profile")
    return {"config": asdict(config), "sizes": sizes, "batch": batch,
            "profile": _profile(mixer, model, pool, config)}


def _one_size(mixer, cases: Cases, n: int, config: ShapleyConfig) -> dict:
    singles = [cases.select([i]) for i in range(len(cases))]
    methods: dict[str, dict] = {}
    reference = None
    if n <= config.exact_limit:
        run = timed_each([_call(shapley_values, mixer, c, exact_max=n) for c in singles])
        reference = _stack(run.result)
        methods["exact"] = {**run.to_dict(), "max_abs_error": 0.0, "max_rel_error": 0.0}
    if n <= config.plain_exact_limit:
        run = timed_each([_call(shapley_values, _plain(mixer), c, exact_max=n) for c in singles])
        methods["exact_plain_forward"] = {**run.to_dict(), **_errors(_stack(run.result), reference)}
    for explainer in config.shap_methods:
        if explainer == "exact" and n > config.shap_exact_limit:
            continue
        run = timed_each([_call(shap_reference, mixer, c, explainer=explainer, seed=config.seed)
                          for c in singles])
        methods[f"shap_{explainer}"] = {**run.to_dict(), **_errors(_stack(run.result), reference)}
    grid = []
    for m in config.permutations:
        run = timed_each([_call(shapley_values, mixer, c, exact_max=0, n_permutations=m,
                                sampler=config.sampler, seed=config.seed) for c in singles])
        values = _stack(run.result)
        grid.append({"permutations": m, **run.to_dict(), **_errors(values, reference),
                     "max_se_ratio": _max_se_ratio(values)})
    matched = _matched_to_kernel(mixer, singles, methods, grid, reference, config)
    if matched is not None:
        grid = sorted([*grid, matched], key=lambda g: g["permutations"])
    equal_time = _equal_time(methods, grid)
    if equal_time is not None and equal_time["sampled"] is not None:
        other = "permutation" if config.sampler == "kernel" else "kernel"
        m = equal_time["sampled"]["permutations"]
        run = timed_each([_call(shapley_values, mixer, c, exact_max=0, n_permutations=m,
                                sampler=other, seed=config.seed) for c in singles])
        equal_time["other_sampler"] = {"sampler": other, "permutations": m, **run.to_dict(),
                                       **_errors(_stack(run.result), reference)}
    spread = reference["spread"] if reference else _stack(run.result)["spread"]
    adaptive = (_to_target(mixer, singles, reference, config)
                if n in config.se_target_sizes else None)
    return {"n_recipes": len(cases), "exact_known": reference is not None, "methods": methods,
            "sampled": grid, "sampler": config.sampler, "equal_time": equal_time,
            "target_se": _se_target(grid, config.se_target), "to_target": adaptive,
            "median_abs_spread": float(np.median(np.abs(spread))),
            "load_after": load_average()}


def _matched_to_kernel(mixer, singles: list[Cases], methods: dict, grid: list[dict],
                       reference: dict | None, config: ShapleyConfig) -> dict | None:
    """One more sampled run, with as many permutations as the grid's timings say fit in
    KernelExplainer's time per recipe (time per permutation taken from the largest count that
    fits, which overstates it for larger counts, so the run errs on the short side)."""
    kernel = methods.get("shap_kernel")
    within = [g for g in grid if kernel and g["median_s"] <= kernel["median_s"]]
    if reference is None or not within:
        return None
    best = max(within, key=lambda g: g["permutations"])
    m = int(kernel["median_s"] / best["median_s"] * best["permutations"]) // 2 * 2
    if m <= best["permutations"] or any(g["permutations"] == m for g in grid):
        return None
    run = timed_each([_call(shapley_values, mixer, c, exact_max=0, n_permutations=m,
                            sampler=config.sampler, seed=config.seed) for c in singles])
    values = _stack(run.result)
    return {"permutations": m, **run.to_dict(), **_errors(values, reference),
            "max_se_ratio": _max_se_ratio(values), "matched_to_kernel": True}


def _to_target(mixer, singles: list[Cases], reference: dict | None,
               config: ShapleyConfig) -> dict:
    """The sampled estimator told to stop at ``se_target``: each recipe draws permutations in
    doubling rounds until every standard error is below the target share of its
    |f(recipe) - f(nothing)| (at most ``se_target_cap``)."""
    run = timed_each([_call(shapley_values, mixer, c, exact_max=0,
                            n_permutations=config.se_target_cap, sampler=config.sampler,
                            target_std_error=config.se_target, seed=config.seed)
                      for c in singles])
    values = _stack(run.result)
    drawn = [int(r.coalitions[0]) // max(int(r.n_players[0]) - 1, 1) for r in run.result]
    return {**run.to_dict(), "max_s": max(run.runs), "permutations": drawn,
            "cap": config.se_target_cap, "max_se_ratio": _max_se_ratio(values),
            **_errors(values, reference)}


def _batch(mixer, model: TrainedModel, pool: list[Recipe], config: ShapleyConfig) -> dict:
    """Exact values for a batch of recipes in one call, against KernelExplainer recipe by
    recipe on the first ``kernel_batch_recipes`` of them."""
    recipes = recipes_of_size(pool, config.batch_players, config.batch_recipes)
    cases = recipe_cases(model, recipes, [config.property] * len(recipes))
    exact = timed(lambda: shapley_values(mixer, cases, exact_max=config.batch_players),
                  repeats=config.batch_repeats, budget_s=90.0)
    k = min(config.kernel_batch_recipes, len(cases))
    subset = cases.select(np.arange(k))
    kernel = timed(lambda: shap_reference(mixer, subset, explainer="kernel", seed=config.seed))
    per_recipe = kernel.median / k
    reference = exact.result.values[:k]
    error = np.nanmax(np.abs(kernel.result.values - reference))
    return {
        "n_recipes": len(cases), "players": config.batch_players,
        "exact": {**exact.to_dict(), "per_recipe_s": exact.median / len(cases)},
        "kernel": {**kernel.to_dict(), "n_recipes": k, "per_recipe_s": per_recipe,
                   "batch_s": per_recipe * len(cases), "extrapolated": k < len(cases),
                   "max_abs_error": float(error)},
        "speedup": per_recipe * len(cases) / exact.median,
    }


def _profile(mixer, model: TrainedModel, pool: list[Recipe], config: ShapleyConfig) -> dict:
    """Where the time goes: the exact batch, one exact recipe of 14 ingredients (or the nearest
    size run) and KernelExplainer on it, and the sampled estimator on the largest size."""
    exact_n = min((n for n in config.sizes if n <= config.exact_limit),
                  key=lambda n: abs(n - 14))
    exact_case = recipe_cases(model, recipes_of_size(pool, exact_n, 1), [config.property])
    big = max(config.sizes)
    big_case = recipe_cases(model, recipes_of_size(pool, big, 1), [config.property])
    m = max(config.permutations)
    batch = recipe_cases(model, recipes_of_size(pool, config.batch_players, config.batch_recipes),
                         [config.property] * config.batch_recipes)
    return {
        "batch": {"players": config.batch_players, "recipes": config.batch_recipes,
                  "top": profile_top(lambda: shapley_values(
                      mixer, batch, exact_max=config.batch_players))},
        "exact": {"players": exact_n, "top": profile_top(
            lambda: shapley_values(mixer, exact_case, exact_max=exact_n))},
        "kernel": {"players": exact_n, "top": profile_top(
            lambda: shap_reference(mixer, exact_case, explainer="kernel"))},
        "sampled": {"players": big, "permutations": m, "top": profile_top(
            lambda: shapley_values(mixer, big_case, exact_max=0, n_permutations=m,
                                   sampler=config.sampler))},
    }


def _equal_time(methods: dict, grid: list[dict]) -> dict | None:
    """KernelExplainer against the most permutations the sampled estimator can draw in no more
    wall time (median per recipe), where exact values are known."""
    kernel = methods.get("shap_kernel")
    if kernel is None or kernel.get("max_abs_error") is None:
        return None
    within = [g for g in grid if g["median_s"] <= kernel["median_s"]]
    best = max(within, key=lambda g: g["permutations"]) if within else None
    out = {"kernel_s": kernel["median_s"], "kernel_max_abs_error": kernel["max_abs_error"],
           "kernel_max_rel_error": kernel["max_rel_error"], "sampled": best}
    out["sampled_better"] = (best is not None and
                             best["max_abs_error"] < kernel["max_abs_error"])
    return out


def _se_target(grid: list[dict], target: float) -> dict | None:
    """The fewest permutations whose every standard error is below ``target`` times
    |f(recipe) - f(nothing)| on every recipe, with its time."""
    ok = [g for g in grid if g["max_se_ratio"] < target]
    return min(ok, key=lambda g: g["permutations"]) if ok else None


def _warm_up(mixer, model: TrainedModel, pool: list[Recipe], config: ShapleyConfig) -> None:
    """First calls pay for imports and compilation (shap, numba); make them outside the
    clock."""
    case = recipe_cases(model, recipes_of_size(pool, min(config.sizes), 1), [config.property])
    n = min(config.sizes)
    shapley_values(mixer, case, exact_max=n)
    shapley_values(mixer, case, exact_max=0, n_permutations=16)
    shapley_values(_plain(mixer), case, exact_max=n)
    for explainer in config.shap_methods:
        shap_reference(mixer, case, explainer=explainer)


def _plain(mixer) -> Callable:
    """The Mixer as a plain callable, which sends coalitions through its full padded forward."""
    return lambda *args: mixer(*args)


def _call(fn: Callable, *args, **kwargs) -> Callable[[], Attribution]:
    return lambda: fn(*args, **kwargs)


def _stack(results: list[Attribution]) -> dict:
    """Values (R, n) of single-recipe results, their standard errors and f(x) - f(nothing)."""
    values = [r.values[0] for r in results]
    se = [None if r.std_errors is None else r.std_errors[0] for r in results]
    spread = np.array([r.prediction[0] - r.baseline[0] for r in results])
    return {"values": values, "std_errors": se, "spread": spread}


def _errors(estimate: dict, reference: dict | None) -> dict:
    if reference is None:
        return {"max_abs_error": None, "max_rel_error": None}
    diffs = [np.abs(a - b) for a, b in zip(estimate["values"], reference["values"], strict=True)]
    rel = [np.nansum(d) / abs(s) if s else math.inf
           for d, s in zip(diffs, reference["spread"], strict=True)]
    return {"max_abs_error": float(max(np.nanmax(d) for d in diffs)),
            "max_rel_error": float(max(rel))}


def _max_se_ratio(estimate: dict) -> float:
    ratios = [np.nanmax(se) / abs(s) if s else math.inf
              for se, s in zip(estimate["std_errors"], estimate["spread"], strict=True)]
    return float(max(ratios))
