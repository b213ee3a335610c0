"""Start-up: how long ``xai --help`` and ``xai explain --help`` take, against ``python -c pass``.

Each command runs in a fresh interpreter, ``repeats`` times, interleaved with ``python -c pass``
so that both see the same machine load; the figure is the median wall time, and its ratio to
the bare interpreter's median measured in the same run. The parsers import no numerical stack
(torch, pandas, scipy, Optuna), so the gap over ``python -c pass`` is argparse and the light
modules the parsers read their defaults from.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import load_average

TARGET_S = 0.5


@dataclass(frozen=True)
class StartupConfig:
    """``commands`` are the ``xai`` arguments timed; ``repeats`` runs each (medians)."""

    commands: tuple[tuple[str, ...], ...] = (("--help",), ("explain", "--help"))
    repeats: int = 9


def run_startup(config: StartupConfig, say=print) -> dict:
    """Median wall times (seconds) of ``python -c pass`` and of each ``xai`` command."""
    xai = _xai_command()
    say(f"startup: {' '.join(xai)} vs python -c pass, {config.repeats} runs each")
    bare = [sys.executable, "-c", "pass"]
    runs: dict[str, list[float]] = {"python -c pass": []}
    for args in config.commands:
        runs["xai " + " ".join(args)] = []
    for _ in range(config.repeats):
        runs["python -c pass"].append(_wall(bare))
        for args in config.commands:
            runs["xai " + " ".join(args)].append(_wall([*xai, *args]))
    python = statistics.median(runs.pop("python -c pass"))
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_at_end": load_average(),
        "python_pass_median_s": python,
        "target_s": TARGET_S,
        "repeats": config.repeats,
        "runner": " ".join(Path(a).name for a in xai),
        "commands": {name: {"median_s": statistics.median(times), "runs_s": times,
                            "ratio_to_python": statistics.median(times) / python}
                     for name, times in runs.items()},
    }


def _xai_command() -> list[str]:
    """The ``xai`` console script beside this interpreter, else ``python -m xai``."""
    script = Path(sys.executable).with_name("xai")
    if script.is_file():
        return [str(script)]
    found = shutil.which("xai")
    return [found] if found else [sys.executable, "-m", "xai"]


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    """``python -m bench.startup``: print the figures as JSON (for a run of this benchmark
    alone)."""
    import json

    print(json.dumps(run_startup(StartupConfig(), say=lambda line: print(line, file=sys.stderr)),
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
