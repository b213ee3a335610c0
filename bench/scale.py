"""``xai report`` at scale: wall time and peak resident memory on synthetic sets of 5,000 and
50,000 recipes with 10 properties.

Each size gets its own dataset folder and a model trained for a few epochs (the benchmark is of
the report, not of training; training is timed too, apart). The report runs in a fresh process
whose peak RSS is read with ``getrusage`` (``bench.rss``). Where the ``xai report`` command is
not registered, the same process runs the audit behind it (``xai.runs.audit.run_audit``) and writes
``results.json`` and ``attributions.csv`` instead, and the results say so.

``python -m bench.scale --data D --model M --out O`` is that stand-in process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
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
    """How to run a report: the registered ``xai report`` command, or this module's stand-in."""
    from xai.cli import COMMANDS, build_parser

    if "report" in COMMANDS:
        options = _report_options(build_parser())

        def argv(data: Path, model: Path, out: Path) -> list[str]:
            args = [sys.executable, "-m", "xai", "report", "--quiet"]
            for name, value in (("--data", data), ("--model", model), ("--out", out)):
                if name in options:
                    args += [name, str(value)]
            return args

        return {"runner": "`xai report`", "argv": argv}

    def stand_in(data: Path, model: Path, out: Path) -> list[str]:
        return [sys.executable, "-m", "bench.scale", "--data", str(data), "--model", str(model),
                "--out", str(out)]

    return {"runner": "`bench.scale` (`xai.runs.audit.run_audit` and its JSON/CSV; `xai report` "
                      "is not registered)",
            "argv": stand_in}


def _report_options(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._subparsers._group_actions:  # argparse keeps sub-commands here
        sub = action.choices.get("report")
        if sub is not None:
            return {s for a in sub._actions for s in a.option_strings}
    return set()


def _section_timings(report: Path) -> dict | None:
    try:
        results = json.loads((report / "results.json").read_text())
    except (OSError, ValueError):
        return None
    return results.get("provenance", {}).get("timings_seconds")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the audit behind xai report, for the scale "
                                     "benchmark")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    import torch

    from models.checkpoint import load_model
    from models.data import load_dataset
    from models.io import atomic_folder, write_json
    from xai.runs.audit import run_audit

    torch.set_num_threads(2)
    model, dataset = load_model(args.model), load_dataset(args.data)
    audit = run_audit(model, dataset, model_dir=args.model)
    with atomic_folder(args.out) as tmp:
        write_json(tmp / "results.json", audit.results)
        if audit.attributions is not None:
            audit.attributions.to_csv(tmp / "attributions.csv", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
