"""``xai report`` at scale: wall time and peak resident memory on synthetic sets of 5,000 and
50,000 recipes with 10 properties.

Each size gets its own dataset folder and a model trained for a few epochs (the benchmark is of
the report, not of training; training is timed too, apart). ``xai report`` runs in a fresh
process whose peak RSS is read with ``getrusage`` (``bench.rss``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench.rss import measure

DROPPED_PROPERTIES = ("moisturisation", "viscosity_6pin_20rpm")  # 12 - 2 = 10 properties


@dataclass(frozen=True)
class ScaleConfig:
    """``report_args`` are passed to ``xai report`` (the quick mode adds ``--quick``)."""

    sizes: tuple[int, ...] = (5_000, 50_000)
    train_epochs: int = 1
    report_args: tuple[str, ...] = ()
    seed: int = 0


def run_scale(workdir: Path, config: ScaleConfig, *,
              say: Callable[[str], None] = print) -> dict:
    """Per size: data generation, training and report, each timed; the report's peak RSS."""
    command = report_command()
    out = {"config": asdict(config), "runner": command["runner"], "sizes": {}}
    for n in config.sizes:
        folder = Path(workdir) / f"scale-{n}"
        say(f"scale: {n} recipes")
        start = time.perf_counter()
        counts = write_scale_data(folder / "data", n, seed=config.seed)
        synth_s = time.perf_counter() - start
        train = measure([sys.executable, "-m", "xai", "train", "--data", str(folder / "data"),
                         "--out", str(folder / "model"), "--epochs", str(config.train_epochs),
                         "--seed", str(config.seed), "--quiet"])
        report = measure([*command["argv"](folder / "data", folder / "model", folder / "report"),
                          *config.report_args])
        entry = {**counts, "synth_s": synth_s,
                 "train": {k: train[k] for k in ("wall_s", "peak_rss_mb", "returncode")},
                 "report": {k: report[k] for k in ("wall_s", "peak_rss_mb", "returncode")}}
        if report["returncode"]:
            entry["report"]["error"] = report["output"][-1500:]
        entry["report"]["sections_s"] = _section_timings(folder / "report")
        out["sizes"][str(n)] = entry
    if len(config.sizes) >= 2:
        small, large = (out["sizes"][str(n)]["report"] for n in (min(config.sizes),
                                                                 max(config.sizes)))
        out["growth"] = {"recipes": max(config.sizes) / min(config.sizes),
                         "time": large["wall_s"] / small["wall_s"],
                         "memory": large["peak_rss_mb"] / small["peak_rss_mb"]}
    return out


def write_scale_data(folder: Path, n_formulations: int, *, seed: int = 0) -> dict:
    """The synthetic set of ``n_formulations`` recipes without ``DROPPED_PROPERTIES``."""
    from models.synth import generate, write_dataset

    data = generate(seed=seed, n_formulations=n_formulations)
    measurements = data.measurements[~data.measurements["property"].isin(DROPPED_PROPERTIES)]
    properties = data.properties[~data.properties["property"].isin(DROPPED_PROPERTIES)]
    data = replace(data, measurements=measurements.reset_index(drop=True),
                   properties=properties.reset_index(drop=True))
    write_dataset(data, folder)
    return {"recipes": n_formulations, "measurements": len(measurements),
            "properties": len(properties), "formulation_rows": len(data.formulations)}


def report_command() -> dict:
    """How a report is run: ``xai report --quiet`` in a fresh process."""

    def argv(data: Path, model: Path, out: Path) -> list[str]:
        return [sys.executable, "-m", "xai", "report", "--quiet", "--data", str(data),
                "--model", str(model), "--out", str(out)]

    return {"runner": "`xai report`", "argv": argv}


def _section_timings(report: Path) -> dict | None:
    try:
        results = json.loads((report / "results.json").read_text())
    except (OSError, ValueError):
        return None
    return results.get("provenance", {}).get("timings_seconds")
