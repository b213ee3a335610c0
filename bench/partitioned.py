"""Predictions spread over local worker processes: (recipe, property) pairs per second on one
process and on ``jobs`` loky workers, the overhead per pair, and a paper estimate for a million
pairs on a cluster.

Both sides compute ``xai predict``'s table (:func:`models.calibration.predict_table`: the
predictions, and the intervals and flags where the checkpoint holds a calibration and a domain).
The same :func:`xai.runs.distributed.predict_partitioned` path serves local workers and a Dask
cluster; a cluster adds its network transfers (the checkpoint's bytes and each chunk's recipes
once per chunk), which this benchmark on one machine does not see, so the estimate is a lower
bound for a cluster of the stated size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from bench.machine import load_average

ESTIMATE_PAIRS = 1_000_000
ESTIMATE_WORKERS = 16


@dataclass(frozen=True)
class PartitionedConfig:
    """``n_recipes`` x every property of the model = the pairs predicted; ``jobs`` local
    workers (each with ``threads // jobs`` threads)."""

    n_recipes: int = 16_667  # x 12 properties: 200,004 pairs
    jobs: tuple[int, ...] = (2,)
    threads: int = 2


def run_partitioned(model_dir: Path, recipes: list, config: PartitionedConfig, *,
                    say: Callable[[str], None] = print) -> dict:
    """Wall time of the plain in-process prediction and of each ``jobs`` count."""
    from models.calibration import predict_table
    from models.checkpoint import load_model
    from models.threads import per_worker
    from xai.runs.distributed import ModelFiles, Partition, predict_partitioned

    model = load_model(model_dir)
    chosen = {str(i): r for i, r in enumerate(recipes[: config.n_recipes])}
    props = list(model.properties)
    rows = pd.DataFrame([(f, p) for f in chosen for p in props],
                        columns=["formulation_id", "property"])
    n = len(rows)
    say(f"partitioned: {n} pairs on one process")
    start = time.perf_counter()
    expected = predict_table(model, chosen, rows)
    one = time.perf_counter() - start
    out = {"config": asdict(config), "n_pairs": n, "one_process_s": one,
           "pairs_per_s_one": n / one, "load_after_one": load_average(), "jobs": {}}
    files = ModelFiles.read(model_dir)
    for jobs in config.jobs:
        say(f"partitioned: {n} pairs on {jobs} local workers")
        partition = Partition(jobs=jobs, threads=per_worker(config.threads, jobs))
        start = time.perf_counter()
        got = predict_partitioned(files, chosen, rows, partition)
        wall = time.perf_counter() - start
        out["jobs"][str(jobs)] = {
            "wall_s": wall, "pairs_per_s": n / wall, "speedup": one / wall,
            # worker-seconds spent beyond one process's share, per pair
            "overhead_per_pair_s": (jobs * wall - one) / n,
            "identical": bool(got.equals(expected)), "load_after": load_average()}
    per_pair = one / n
    fixed = max((e["wall_s"] - one / int(j) for j, e in out["jobs"].items()), default=0.0)
    out["estimate"] = {
        "pairs": ESTIMATE_PAIRS, "workers": ESTIMATE_WORKERS,
        "seconds": ESTIMATE_PAIRS * per_pair / ESTIMATE_WORKERS + fixed,
        "how": (f"{ESTIMATE_PAIRS:,} pairs x {per_pair:.3g} s per pair on one process / "
                f"{ESTIMATE_WORKERS} workers of the same speed + the fixed cost measured here "
                f"({fixed:.3g} s: worker start, checkpoint load); network transfers not "
                "included"),
    }
    return out
