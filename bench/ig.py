"""Integrated Gradients: this project's batched, adaptive IG against captum one recipe at a time.

Both integrate along the amount path from every amount at 0 (the ``zero`` absence, which is
captum's default all-zero baseline for recipes without padding) to the recipe: this project with
nested Clenshaw-Curtis rules that double until each case converges, captum with its default
Gauss-Legendre rule at a fixed step count. A case has converged when its completeness gap
|delta| is at most max(tolerance * |f(recipe) - f(all amounts 0)|, absolute_floor); captum's
per-recipe loop is timed at its default 50 steps and at the fewest steps (doubling) for which at
least as many cases converge as with this project's IG. Attributions are in standardised model
units.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from bench.fixture import Recipe, cases_to, recipe_cases
from bench.timing import profile_top, timed
from models.trained import TrainedModel
from xai.cases import Cases

PAIR_PROPERTIES = ("ph", "viscosity_4pin_10rpm", "stability", "viscosity_4pin_20rpm",
                   "viscosity_4pin_5rpm")


@dataclass(frozen=True)
class IGConfig:
    """``n_recipes`` recipes for the captum comparison; ``n_pairs`` (recipe, property) pairs,
    the pool's first recipes times ``PAIR_PROPERTIES``, for the throughput run. Repeats stop
    once a measurement has taken ``repeat_budget_s`` seconds."""

    n_recipes: int = 200
    captum_steps: tuple[int, ...] = (50, 100, 200, 400)
    repeats: int = 3
    n_pairs: int = 10_000
    pair_repeats: int = 3
    tolerance: float = 1e-3
    absolute_floor: float = 1e-5
    max_steps: int = 256
    repeat_budget_s: float = 90.0
    interference_recipes: int = 40
    interference_steps: int = 100
    property: str = "viscosity_4pin_10rpm"


def run_ig(model: TrainedModel, pool: list[Recipe], config: IGConfig, *, device: str = "cpu",
           say: Callable[[str], None] = print) -> dict:
    """All IG measurements on ``device`` as a JSON-able dict."""
    mixer = model.mixer.to(device).eval()
    try:
        recipes = pool[:config.n_recipes]
        cases = recipe_cases(model, recipes, [config.property] * len(recipes))
        say(f"ig: this project's IG on {len(cases)} recipes")
        ours = _ours(mixer, cases, config, device)
        say("ig: captum per-recipe loop")
        captum = _captum_levels(mixer, cases, ours, config, device)
        say(f"ig: {config.n_pairs} (recipe, property) pairs")
        pairs = _pairs(mixer, model, pool, config, device)
        out = {"config": asdict(config), "device": device, "n_recipes": len(cases),
               "ours": _public(ours), "captum": captum, "pairs": pairs}
        if "error" not in ours and captum:
            out["speedup_default"] = ours["recipes_per_s"] / captum[0]["recipes_per_s"]
            matched = next((c for c in captum if c["matches_ours"]), None)
            out["matched_steps"] = None if matched is None else matched["steps"]
            out["speedup_matched"] = (None if matched is None
                                      else ours["recipes_per_s"] / matched["recipes_per_s"])
        if device == "cpu":
            say("ig: BLAS thread interference")
            out["blas_interference"] = _blas_interference(
                mixer, cases.select(np.arange(min(config.interference_recipes, len(cases)))),
                config)
        if device == "cpu" and "error" not in ours:
            say("ig: profile")
            out["profile"] = profile_top(lambda: _integrate(mixer, cases, config))
        return out
    finally:
        model.mixer.to("cpu")


def _integrate(mixer, cases: Cases, config: IGConfig):
    from xai.attribution.integrated_gradients import integrated_gradients

    return integrated_gradients(mixer, cases, absence="zero", tolerance=config.tolerance,
                                absolute_floor=config.absolute_floor, max_steps=config.max_steps)


def _ours(mixer, cases: Cases, config: IGConfig, device: str) -> dict:
    """This project's IG over all cases in one call, ``repeats`` times."""
    on_device = cases_to(cases, device)
    try:
        _integrate(mixer, on_device.select(np.arange(min(8, len(cases)))), config)  # warm-up
        run = timed(lambda: _integrate(mixer, on_device, config), repeats=config.repeats,
                    device=device)
    except Exception as err:  # a device the analyser does not support is a finding, not a crash
        return {"error": f"{type(err).__name__}: {err}"}
    result = run.result
    spread = result.prediction - result.baseline
    delta = np.abs(result.delta)
    steps = np.asarray(result.n_steps)
    return {**run.to_dict(), "recipes_per_s": len(cases) / run.median,
            "converged": float(np.mean(result.converged)),
            "steps": {str(int(s)): int(c) for s, c in zip(*np.unique(steps, return_counts=True),
                                                          strict=True)},
            "median_rel_delta": float(np.median(delta / np.abs(spread))),
            "max_rel_delta": float(np.max(delta / np.abs(spread))),
            "_spread": spread}


def _captum_levels(mixer, cases: Cases, ours: dict, config: IGConfig, device: str) -> list[dict]:
    """captum at its default 50 steps, then doubling until at least this project's converged
    share is reached (or the listed steps run out)."""
    if "error" in ours:
        spread = None
        target = 1.0
    else:
        spread, target = ours["_spread"], ours["converged"]
    singles = [cases_to(cases.select([i]), device) for i in range(len(cases))]
    _captum_loop(mixer, singles[:4], config.captum_steps[0])  # warm-up
    levels = []
    for steps in config.captum_steps:
        run = timed(lambda s=steps: _captum_loop(mixer, singles, s), repeats=config.repeats,
                    device=device, budget_s=config.repeat_budget_s)
        delta = np.abs(run.result)
        level = {"steps": steps, **run.to_dict(), "recipes_per_s": len(cases) / run.median}
        if spread is not None:
            allowed = np.maximum(config.tolerance * np.abs(spread), config.absolute_floor)
            level["converged"] = float(np.mean(delta <= allowed))
            level["median_rel_delta"] = float(np.median(delta / np.abs(spread)))
            level["max_rel_delta"] = float(np.max(delta / np.abs(spread)))
            level["matches_ours"] = level["converged"] >= target
        else:
            level["matches_ours"] = False
        levels.append(level)
        if level["matches_ours"]:
            break
    return levels


def _captum_loop(mixer, singles: list[Cases], steps: int) -> np.ndarray:
    """captum's IntegratedGradients with its defaults (zero baseline, Gauss-Legendre), one
    recipe per call on the plain Mixer forward; returns |delta| per recipe."""
    from captum.attr import IntegratedGradients

    def forward(amounts, property_ids, ids, mask):
        return mixer(property_ids, ids, amounts, mask)

    ig = IntegratedGradients(forward)
    deltas = np.empty(len(singles))
    for i, case in enumerate(singles):
        _, delta = ig.attribute(case.amounts, additional_forward_args=(
            case.property_ids, case.ids, case.mask), n_steps=steps,
            return_convergence_delta=True)
        deltas[i] = float(delta.abs().max())
    return deltas


def _blas_interference(mixer, cases: Cases, config: IGConfig) -> dict:
    """captum's per-recipe loop with the BLAS library limited to one thread and with one
    thread per core.

    Above 64 steps captum computes its Gauss-Legendre nodes with numpy's ``eigvalsh``; a
    multi-threaded OpenBLAS then leaves threads spinning that compete with torch's for the
    cores. The runner limits BLAS to one thread for every measurement; this shows what that
    changes.
    """
    from threadpoolctl import threadpool_limits

    singles = [cases.select([i]) for i in range(len(cases))]
    out = {"steps": config.interference_steps, "n_recipes": len(cases)}
    for key, limit in (("one_thread", 1), ("per_core", os.cpu_count() or 1)):
        with threadpool_limits(limits=limit, user_api="blas"):
            run = timed(lambda: _captum_loop(mixer, singles, config.interference_steps),
                        repeats=3)
        out[key] = {**run.to_dict(), "blas_threads": limit}
    out["slowdown"] = out["per_core"]["median_s"] / out["one_thread"]["median_s"]
    return out


def _pairs(mixer, model: TrainedModel, pool: list[Recipe], config: IGConfig, device: str) -> dict:
    properties = [p for p in PAIR_PROPERTIES if p in model.properties]
    per = -(-config.n_pairs // len(properties))
    recipes = pool[:per]
    cases = recipe_cases(model, [r for r in recipes for _ in properties],
                         [p for _ in recipes for p in properties])
    cases = cases.select(np.arange(min(config.n_pairs, len(cases))))
    on_device = cases_to(cases, device)
    try:
        run = timed(lambda: _integrate(mixer, on_device, config), repeats=config.pair_repeats,
                    device=device, budget_s=config.repeat_budget_s)
    except Exception as err:
        return {"n_pairs": len(cases), "error": f"{type(err).__name__}: {err}"}
    result = run.result
    return {"n_pairs": len(cases), "n_recipes": len(recipes), "properties": properties,
            **run.to_dict(), "pairs_per_s": len(cases) / run.median,
            "converged": float(np.mean(result.converged)),
            "mean_steps": float(np.mean(result.n_steps))}


def _public(ours: dict) -> dict:
    return {k: v for k, v in ours.items() if not k.startswith("_")}


def device_available(device: str) -> bool:
    """Whether torch can use ``device`` here."""
    if device.startswith("cuda"):
        return torch.cuda.is_available()
    return device == "cpu"
