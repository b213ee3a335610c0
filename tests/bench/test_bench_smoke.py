"""The benchmark code runs end to end on a tiny configuration and renders its page.

No timing is asserted; the checks are on values that would be wrong if the benchmark compared
different games or mislabelled results.
"""

from __future__ import annotations

import sys

import numpy as np

from bench.config import tiny
from bench.ig import run_ig
from bench.machine import describe_machine
from bench.markdown import render
from bench.rss import measure
from bench.shapley import run_shapley
from bench.targets import check_targets


def _quiet(_: str) -> None:
    pass


def test_tiny_shapley_and_ig_run_and_render(tiny_model, tiny_dataset):
    settings = tiny()
    pool = list(tiny_dataset.recipes().values())
    shapley = run_shapley(tiny_model, pool, settings.shapley, say=_quiet)
    ig = run_ig(tiny_model, pool, settings.ig, say=_quiet)

    methods = shapley["sizes"]["6"]["methods"]
    assert methods["exact"]["max_abs_error"] == 0.0
    # the plain-forward enumeration and shap's ExactExplainer play the same game as ours
    assert methods["exact_plain_forward"]["max_abs_error"] < 1e-4
    assert methods["shap_exact"]["max_abs_error"] < 1e-4
    # at 6 players KernelExplainer's default sample count enumerates every coalition
    assert methods["shap_kernel"]["max_abs_error"] < 1e-3
    assert shapley["batch"]["n_recipes"] == 3
    adaptive = shapley["sizes"]["6"]["to_target"]
    assert adaptive["max_se_ratio"] < 0.01 or max(adaptive["permutations"]) == 256
    assert shapley["batch"]["kernel"]["max_abs_error"] < 1e-3

    assert "error" not in ig["ours"]
    assert 0.0 <= ig["ours"]["converged"] <= 1.0
    assert ig["captum"][0]["steps"] == 4
    assert ig["pairs"]["n_pairs"] == 10
    assert ig["speedup_default"] > 0

    results = {"mode": "tiny", "benchmarks": ["shapley", "ig"], "budget_s": 60.0,
               "elapsed_s": 1.0, "load": {"load_at_start": 0.5, "quiet": True},
               "load_at_end": 0.5, "command": "python -m bench.run", "machine": describe_machine(),
               "shapley": shapley, "ig": ig}
    page = render(results, None)
    assert "## 1. Shapley values" in page and "## 2. Integrated Gradients" in page
    assert "GPU figures: not measured" in page
    outcomes = {v.target: v.outcome for v in check_targets(results)}
    assert outcomes["`xai demo` end to end in under 2 minutes"] == "not measured"
    assert all(o in ("met", "missed", "not measured") for o in outcomes.values())


def test_rss_measures_a_child_process():
    result = measure([sys.executable, "-c", "print('hello')"])
    assert result["returncode"] == 0
    assert "hello" in result["output"]
    assert np.isfinite(result["wall_s"]) and result["peak_rss_mb"] > 1


def test_startup_benchmark_runs_and_renders():
    from bench.markdown import _startup
    from bench.startup import StartupConfig, run_startup
    from bench.targets import check_targets

    result = run_startup(StartupConfig(repeats=1), say=_quiet)
    assert set(result["commands"]) == {"xai --help", "xai explain --help"}
    assert all(c["median_s"] > 0 and c["ratio_to_python"] > 0
               for c in result["commands"].values())
    assert "## 6. Start-up" in _startup(result)
    (verdict,) = [v for v in check_targets({"startup": result}) if "--help" in v.target]
    assert verdict.outcome in ("met", "missed")
