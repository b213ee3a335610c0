"""``python -m bench.run``: measure everything and rewrite BENCHMARKS.md.

``--quick`` runs smaller sizes (a smoke run of a few minutes). Only a full run of every
benchmark rewrites BENCHMARKS.md and ``bench/results-cpu.json``; other runs write their page to
the temporary folder unless ``--out`` says otherwise, so the reference figures stay. ``--device cuda
--only ig,training --json PATH`` runs the IG and training benchmarks on a GPU and writes the raw
results only; saved as ``bench/results-gpu.json`` they appear, labelled, on the next page.
Before measuring, the runner waits (up to ``--max-wait`` seconds) for the 1-minute load average
to fall below ``--max-load``, and records the load. Each benchmark runs in a fresh interpreter
(one child process at a time), so that what one leaves behind (allocator state, threads started
by shap or numba, imported libraries) does not slow the next: in one process, IG measured after
the Shapley benchmark ran up to twice as slow as on its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from bench import config as presets
from bench.contention import run_contention
from bench.fixture import bench_model, model_folder, recipe_pool
from bench.ig import device_available, run_ig
from bench.machine import describe_machine, load_average, wait_for_quiet
from bench.markdown import CPU_RESULTS, GPU_RESULTS, OUTPUT, SCALE_RESULTS, render
from bench.partitioned import run_partitioned
from bench.scale import run_scale
from bench.shapley import run_shapley
from bench.startup import run_startup
from bench.training import run_training
from models.io import atomic_file, dumps_json

GPU_BENCHMARKS = ("ig", "training")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    p.add_argument("--large-scale", action="store_true",
                   help="only the report at 50,000 and 500,000 recipes (make bench-scale)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(presets.BENCHMARKS)}")
    p.add_argument("--device", default="cpu", help="cpu (the reference) or cuda")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    p.add_argument("--out", type=Path, help="Markdown page to write (full mode: BENCHMARKS.md)")
    p.add_argument("--workdir", type=Path, help="keep data and models here (default: a "
                   "temporary folder, removed afterwards)")
    p.add_argument("--max-load", type=float, default=2.5)
    p.add_argument("--max-wait", type=float, help="seconds to wait for a quiet machine "
                   "(default: 1200 in full mode, 0 in quick mode)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = (presets.large_scale() if args.large_scale else
                presets.quick() if args.quick else presets.full())
    device = args.device
    chosen = ["scale"] if args.large_scale else _chosen(args.only, device)
    if not device_available(device):
        print(f"error: device {device!r} is not available here", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    max_wait = args.max_wait if args.max_wait is not None else (0 if args.quick else 1200)
    load = wait_for_quiet(args.max_load, max_wait)
    print(f"load average {load['load_at_start']:.2f}; running {', '.join(chosen)} on {device}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mixer-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    machine = describe_machine(device)  # before the BLAS limit, to record the defaults
    try:
        results = measure(settings, chosen, device, workdir, args.threads)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results.update(load=load, command=_command(argv), machine=machine, blas_limit=1)
    _save(results, args, settings, device)
    return 0


def measure(settings: presets.Settings, chosen: Sequence[str], device: str,
            workdir: Path, threads: int) -> dict:
    """Run the ``chosen`` benchmarks in order, each in a fresh child process; the model the
    training benchmark trains (saved in ``workdir``) is the one the attribution benchmarks
    explain."""
    started = time.perf_counter()
    results: dict = {"mode": settings.mode, "device": device, "benchmarks": list(chosen),
                     "budget_s": settings.budget_s, "elapsed_by_benchmark_s": {},
                     "load_by_benchmark": {}, "isolation": "one child process per benchmark"}
    for name in chosen:
        start = time.perf_counter()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results[name] = pool.submit(run_one, name, settings, device, workdir,
                                        threads).result()
        results["elapsed_by_benchmark_s"][name] = time.perf_counter() - start
        results["load_by_benchmark"][name] = load_average()
    results["elapsed_s"] = time.perf_counter() - started
    results["load_at_end"] = load_average()
    return results


def run_one(name: str, settings: presets.Settings, device: str, workdir: Path,
            threads: int) -> dict:
    """One benchmark's results, in the calling process."""
    torch.set_num_threads(threads)
    # spinning BLAS threads steal the cores from torch's (see bench.ig._blas_interference)
    with threadpool_limits(limits=1, user_api="blas"):
        if name == "training":
            return run_training(workdir, settings.training, device=device)[0]
        if name == "scale":
            return run_scale(workdir, settings.scale)
        if name == "startup":
            return run_startup(settings.startup)
        if name == "contention":
            return run_contention(workdir, settings.contention)
        trained = bench_model(workdir, epochs=settings.model_epochs)
        if name == "partitioned":
            return run_partitioned(model_folder(workdir, epochs=settings.model_epochs),
                                   recipe_pool(settings.partitioned.n_recipes),
                                   settings.partitioned)
        pool = recipe_pool(settings.pool)
        if name == "shapley":
            return run_shapley(trained.model, pool, settings.shapley)
        return run_ig(trained.model, pool, settings.ig, device=device)


def _save(results: dict, args: argparse.Namespace, settings: presets.Settings,
          device: str) -> None:
    text = dumps_json(results, sort_keys=False)
    if args.json is not None:
        _write(args.json, text)
        print(f"raw results: {args.json}")
    if device != "cpu":
        if args.json is None:
            print(text)
        return
    reference = settings.mode == "full" and results["benchmarks"] == list(presets.BENCHMARKS)
    if reference:
        results["raw"] = "bench/results-cpu.json"
        text = dumps_json(results, sort_keys=False)
        _write(CPU_RESULTS, text)
    elif args.json is not None:
        results["raw"] = str(args.json)
    out = args.out or (OUTPUT if reference else
                       Path(tempfile.gettempdir()) / f"BENCHMARKS-{settings.mode}.md")
    gpu = json.loads(GPU_RESULTS.read_text()) if GPU_RESULTS.exists() else None
    large = json.loads(SCALE_RESULTS.read_text()) if SCALE_RESULTS.exists() else None
    _write(out, render(results, gpu, None if settings.mode == "scale" else large))
    print(f"wrote {out}")
    if settings.mode == "scale" and args.json == SCALE_RESULTS and CPU_RESULTS.exists():
        # the reference page gains the large sizes
        _write(OUTPUT, render(json.loads(CPU_RESULTS.read_text()), gpu, results))
        print(f"wrote {OUTPUT}")


def _write(path: Path, text: str) -> None:
    with atomic_file(path) as tmp:
        Path(tmp).write_text(text)


def _chosen(only: str | None, device: str) -> list[str]:
    allowed = presets.BENCHMARKS if device == "cpu" else GPU_BENCHMARKS
    if only is None:
        return list(allowed)
    names = [n.strip() for n in only.split(",") if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise SystemExit(f"error: {bad} not among {allowed} on {device}")
    return [n for n in presets.BENCHMARKS if n in names]


def _command(argv: Sequence[str] | None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python -m bench.run", *args])


if __name__ == "__main__":
    sys.exit(main())
