"""Threads under contention: one, two and four ``xai train`` runs at once on the same cores.

Each run trains a small Mixer on a small synthetic set in its own process, started together
with the others; its wall time is compared with one run alone. Fair sharing of 2 cores makes N
concurrent runs take about N times one run alone; the target allows 1.2 x N (no collapse
beyond fair sharing). The runs get the environment this process has, less the thread variables
(``OMP_NUM_THREADS`` and the like), so that the command's own default is what is measured
(``threads`` passes ``--threads`` instead).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.machine import load_average
from models.threads import THREAD_VARIABLES

TARGET_RATIO = 1.2


@dataclass(frozen=True)
class ContentionConfig:
    """``concurrency``: how many runs at once, in order (1 first: the reference); each run
    trains ``epochs`` epochs on ``n_formulations`` synthetic recipes."""

    concurrency: tuple[int, ...] = (1, 2, 4)
    n_formulations: int = 300
    epochs: int = 12
    threads: int | None = None
    seed: int = 0
    env: tuple[tuple[str, str], ...] = ()  # extra environment of every run (an A/B of a fix)


def run_contention(workdir: Path, config: ContentionConfig, *,
                   say: Callable[[str], None] = print) -> dict:
    """Wall time of every run at every concurrency, and each concurrency's worst run against
    N x the median run alone."""
    from models.synth import generate, write_dataset

    folder = Path(workdir) / "contention"
    data = folder / "data"
    if not data.exists():
        write_dataset(generate(seed=config.seed, n_formulations=config.n_formulations), data)
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env.update(dict(config.env))
    out: dict = {"config": asdict(config), "target_ratio": TARGET_RATIO, "cores": os.cpu_count(),
                 "runs": {}}
    for n in config.concurrency:
        say(f"contention: {n} concurrent xai train")
        out["runs"][str(n)] = _together(n, data, folder / f"x{n}", config, env)
    alone = out["runs"].get("1")
    if alone is not None and all(r == 0 for r in alone["returncodes"]):
        reference = statistics.median(alone["wall_s"])
        out["alone_s"] = reference
        out["ratios"] = {n: max(r["wall_s"]) / (int(n) * reference)
                         for n, r in out["runs"].items()}
    return out


def _together(n: int, data: Path, folder: Path, config: ContentionConfig,
              env: dict[str, str]) -> dict:
    """``n`` runs started at once; each one's wall time from start to its own exit."""
    argv = [sys.executable, "-m", "xai", "train", "--data", str(data), "--epochs",
            str(config.epochs), "--seed", str(config.seed), "--quiet"]
    if config.threads is not None:
        argv += ["--threads", str(config.threads)]
    load_before = load_average()
    start = time.perf_counter()
    procs = [subprocess.Popen([*argv, "--out", str(folder / f"run{i}")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(n)]
    walls, codes, errors = [], [], []
    pending = dict(enumerate(procs))
    ended: dict[int, float] = {}
    while pending:
        for i, p in list(pending.items()):
            if p.poll() is not None:
                ended[i] = time.perf_counter() - start
                del pending[i]
        time.sleep(0.05)
    for i, p in enumerate(procs):
        walls.append(ended[i])
        codes.append(p.returncode)
        if p.returncode:
            errors.append(p.stderr.read().decode(errors="replace")[-1500:])
        p.stderr.close()
    return {"wall_s": walls, "returncodes": codes, "load_before": load_before,
            "load_after": load_average(), **({"errors": errors} if errors else {})}


def main() -> int:
    """``python -m bench.contention [WORKDIR [--threads N] [NAME=VALUE ...]]``: print the
    figures as JSON; ``NAME=VALUE`` pairs go into every run's environment."""
    import json
    import tempfile

    args = sys.argv[1:]
    workdir = Path(args.pop(0)) if args else Path(tempfile.mkdtemp())
    threads = None
    if args[:1] == ["--threads"]:
        threads = int(args[1])
        args = args[2:]
    env = tuple(tuple(a.split("=", 1)) for a in args)
    result = run_contention(workdir, ContentionConfig(threads=threads, env=env),
                            say=lambda line: print(line, file=sys.stderr))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
