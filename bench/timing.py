"""Wall-clock medians over repeats, and a short cProfile summary of one call.

Every figure in BENCHMARKS.md is a median over the repeats listed beside it; the individual runs
are kept in the raw results so the spread can be read too.
"""

from __future__ import annotations

import cProfile
import math
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Timed:
    """``runs`` wall times in seconds of repeated calls and the last call's result."""

    runs: tuple[float, ...]
    result: Any

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def to_dict(self) -> dict:
        return {"median_s": self.median, "runs_s": list(self.runs)}


def timed(fn: Callable[[], Any], *, repeats: int = 1, device: str = "cpu",
          budget_s: float = math.inf) -> Timed:
    """Call ``fn()`` ``repeats`` times and time each call (synchronising a CUDA device so
    queued kernels are counted). No further repeat starts once ``budget_s`` seconds have been
    spent, so a slow call is measured fewer times rather than blowing the run's time limit;
    ``runs`` says how many there were."""
    runs, result = [], None
    for _ in range(max(repeats, 1)):
        _sync(device)
        start = time.perf_counter()
        result = fn()
        _sync(device)
        runs.append(time.perf_counter() - start)
        if sum(runs) >= budget_s:
            break
    return Timed(tuple(runs), result)


def timed_each(fns: list[Callable[[], Any]], *, device: str = "cpu") -> Timed:
    """Time each of ``fns`` once (repeats over different inputs, e.g. one recipe per call);
    ``result`` is the list of their results."""
    runs, results = [], []
    for fn in fns:
        _sync(device)
        start = time.perf_counter()
        results.append(fn())
        _sync(device)
        runs.append(time.perf_counter() - start)
    return Timed(tuple(runs), results)


def profile_top(fn: Callable[[], Any], *, top: int = 8) -> list[dict]:
    """The ``top`` functions by own time in one profiled call of ``fn``: name, calls, own
    seconds, cumulative seconds and share of the total."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-12)
    rows = []
    for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        rows.append({"function": _label(file, line, name), "calls": int(calls),
                     "own_s": own, "cumulative_s": cumulative, "share": own / total})
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    return rows[:top]


def _label(file: str, line: int, name: str) -> str:
    if file == "~":  # built-ins and C functions
        return name
    parts = file.replace("\\", "/").split("/")
    for root in ("site-packages", "main", "work"):
        if root in parts:
            parts = parts[parts.index(root) + 1:]
            break
    return f"{'/'.join(parts[-3:])}:{line}({name})"


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
