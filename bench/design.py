"""``python -m bench.design``: the inverse-design benchmark.

On the default synthetic data and the default model (``bench.fixture.bench_model``, trained to
early stop once per work folder), ``--sets`` seeded target sets, each on two properties of
different property groups. A target set is centred on the true (noise-free) values of one
recipe of the model's test split, so every set is reachable, and each target's tolerance is
10 % of the property's range over the test split's measurements (taken on the log scale for
log-transformed properties, so the range is multiplicative there). For every set:

- ``xai.inverse.design`` with NSGA-II and random search at the same budget: share of the returned
  designs that meet every target under the truth (oracle), distinct ingredient sets among them,
  wall time of the NSGA-II design (search, selection and evidence) and of the whole call;
- on the first ``--tpe-sets`` sets, NSGA-II, random search and TPE at the smaller
  ``--tpe-budget`` (TPE's own cost grows with trials x ingredients, see BENCHMARKS.md).

Writes the raw results (``bench/results-design.json`` unless ``--json``) and the design section
of BENCHMARKS.md (between its markers; ``bench.markdown`` keeps it when it rewrites the page).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bench.design_markdown import DESIGN_RESULTS, update_page
from bench.fixture import bench_model
from bench.machine import describe_machine, load_average
from models.io import atomic_file, to_jsonable
from xai.inverse import DesignConfig, Target, design


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.design", description=__doc__.split("\n")[0])
    p.add_argument("--sets", type=int, default=20, help="target sets (default 20)")
    p.add_argument("--budget", type=int, default=2000, help="candidates per method")
    p.add_argument("--tpe-sets", type=int, default=5, help="sets with the TPE comparison")
    p.add_argument("--tpe-budget", type=int, default=300, help="budget of the TPE comparison")
    p.add_argument("--n", type=int, default=10, help="designs per run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, help="data and model folder (default: temporary)")
    p.add_argument("--json", type=Path, help=f"raw results (default {DESIGN_RESULTS})")
    p.add_argument("--out", type=Path, help="Markdown page to update (default BENCHMARKS.md)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--quick", action="store_true",
                   help="3 sets, budget 400, TPE on 1 set at 200: a smoke run; writes to the "
                   "temporary folder unless --json / --out say otherwise")
    return p.parse_args(argv)


def target_sets(model, dataset, n_sets: int, seed: int) -> list[list[Target]]:
    """``n_sets`` pairs of targets, each centred on the truth of one test recipe."""
    test = list(model.split.test) if model.split is not None else dataset.formulation_ids
    m = dataset.measurements[dataset.measurements["formulation_id"].isin(set(test))]
    counts = m["property"].value_counts()
    props = sorted(p for p in counts.index if counts[p] >= 30 and p in model.properties)
    groups = dataset.property_groups()
    transforms = dataset.property_transforms()
    spans = {}
    for p in props:
        v = m.loc[m["property"] == p, "value"].to_numpy()
        v = np.log(v[v > 0]) if transforms.get(p) == "log" else v
        spans[p] = float(v.max() - v.min())
    from models.synth import oracle_predict

    recipes = dataset.recipes()
    rng = np.random.default_rng(seed)
    sets = []
    while len(sets) < n_sets:
        a, b = rng.choice(props, 2, replace=False)
        if groups.get(a) and groups.get(a) == groups.get(b):
            continue
        fid = test[rng.integers(len(test))]
        codes, amounts = recipes[fid]
        pair = []
        for p in (a, b):
            centre = float(oracle_predict(dataset.truth, [codes], [amounts], p)[0])
            tol = 0.1 * spans[p]
            if transforms.get(p) == "log":
                pair.append(Target(p, centre * np.exp(-tol), centre * np.exp(tol)))
            else:
                pair.append(Target(p, centre - tol, centre + tol))
        sets.append(pair)
    return sets


def run_design_benchmark(model, dataset, args: argparse.Namespace) -> dict:
    sets = target_sets(model, dataset, args.sets, args.seed)
    runs = []
    for i, targets in enumerate(sets):
        config = DesignConfig(n=args.n, budget=args.budget, seed=args.seed + i,
                              methods=("nsga2", "random"))
        start = time.perf_counter()
        result = design(model, dataset, targets, config)
        wall = time.perf_counter() - start
        nsga, rand = result.methods
        run = {
            "targets": [t.to_dict() for t in targets],
            "wall_s": wall,
            "nsga2_design_s": wall - rand.seconds,  # everything but the baseline's search
            "methods": {m.method: m.to_dict() for m in result.methods},
            "designs_meeting_truth": sum(bool(d.truth_meets) for d in result.designs),
            "n_designs": len(result.designs),
            "distinct_ingredient_sets": result.diversity.distinct_ingredient_sets,
            "mean_pairwise_distance": result.diversity.mean_pairwise_distance,
            "feasible_under_model": result.feasible,
            "load_after": load_average(),
        }
        runs.append(run)
        print(f"set {i + 1}/{len(sets)}: {', '.join(map(str, targets))}: nsga2 truth "
              f"{nsga.share_meeting_truth:.0%}, random {rand.share_meeting_truth:.0%}, "
              f"{run['distinct_ingredient_sets']} sets, {wall:.1f} s", flush=True)
    tpe_runs = []
    for i, targets in enumerate(sets[: args.tpe_sets]):
        config = DesignConfig(n=args.n, budget=args.tpe_budget, seed=args.seed + i,
                              methods=("nsga2", "random", "tpe"))
        start = time.perf_counter()
        result = design(model, dataset, targets, config)
        tpe_runs.append({"targets": [t.to_dict() for t in targets],
                         "wall_s": time.perf_counter() - start,
                         "methods": {m.method: m.to_dict() for m in result.methods}})
        shares = ", ".join(f"{m.method} {m.share_meeting_truth:.0%} ({m.seconds:.0f} s)"
                           for m in result.methods)
        print(f"TPE comparison {i + 1}/{args.tpe_sets}: {shares}", flush=True)
    return {"config": {k: v for k, v in vars(args).items() if k not in ("json", "out")},
            "runs": runs, "tpe_runs": tpe_runs, "summary": summarise(runs, tpe_runs)}


def summarise(runs: list[dict], tpe_runs: list[dict]) -> dict:
    def pooled(rs, method):
        shares = [r["methods"][method]["share_meeting_truth"] * r["methods"][method]["n_designs"]
                  for r in rs]
        total = sum(r["methods"][method]["n_designs"] for r in rs)
        return sum(shares) / total if total else None

    def per_run(rs, method, key):
        return [r["methods"][method][key] for r in rs]

    out = {
        "sets": len(runs),
        "share_meeting_truth": {m: pooled(runs, m) for m in ("nsga2", "random")},
        "share_meeting_model": {m: statistics.mean(per_run(runs, m, "share_meeting_model"))
                                for m in ("nsga2", "random")},
        "runs_with_10_designs": sum(r["n_designs"] == 10 for r in runs),
        "distinct_sets_min": min(r["distinct_ingredient_sets"] for r in runs),
        "distinct_sets_median": statistics.median(r["distinct_ingredient_sets"] for r in runs),
        "wall_s_max": max(r["wall_s"] for r in runs),
        "wall_s_median": statistics.median(r["wall_s"] for r in runs),
        "nsga2_design_s_max": max(r["nsga2_design_s"] for r in runs),
        "nsga2_design_s_median": statistics.median(r["nsga2_design_s"] for r in runs),
        "runs_nsga2_beats_random": sum(
            r["methods"]["nsga2"]["share_meeting_truth"]
            > r["methods"]["random"]["share_meeting_truth"] for r in runs),
        "runs_random_beats_nsga2": sum(
            r["methods"]["nsga2"]["share_meeting_truth"]
            < r["methods"]["random"]["share_meeting_truth"] for r in runs),
        "candidates_meeting_model_median": {
            m: statistics.median(per_run(runs, m, "candidates_meeting_model"))
            for m in ("nsga2", "random")},
        "infeasible_under_model": sum(not r["feasible_under_model"] for r in runs),
    }
    if tpe_runs:
        out["tpe"] = {
            "sets": len(tpe_runs),
            "share_meeting_truth": {m: pooled(tpe_runs, m) for m in ("nsga2", "random", "tpe")},
            "seconds_median": {m: statistics.median(per_run(tpe_runs, m, "seconds"))
                               for m in ("nsga2", "random", "tpe")},
            "evaluations": tpe_runs[0]["methods"]["tpe"]["evaluations"],
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.sets, args.budget, args.tpe_sets, args.tpe_budget = 3, 400, 1, 200
    torch.set_num_threads(args.threads)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mixer-bench-design-"))
    machine = describe_machine("cpu")
    started = time.perf_counter()
    load_at_start = load_average()
    with threadpool_limits(limits=1, user_api="blas"):
        trained = bench_model(workdir)
        results = run_design_benchmark(trained.model, trained.dataset, args)
    results.update(machine=machine, elapsed_s=time.perf_counter() - started,
                   load_at_start=load_at_start, load_at_end=load_average(),
                   model_fit_s=trained.fit_seconds, mode="quick" if args.quick else "full",
                   command=" ".join(["python -m bench.design", *(argv or sys.argv[1:])]))
    tmp = Path(tempfile.gettempdir())
    raw = args.json or (tmp / "results-design-quick.json" if args.quick else DESIGN_RESULTS)
    page = args.out or (tmp / "BENCHMARKS-design-quick.md" if args.quick else None)
    results["raw"] = str(raw)
    with atomic_file(raw) as f:
        Path(f).write_text(json.dumps(results, indent=2, default=to_jsonable))
    written = update_page(results, page)
    print(f"raw results: {raw}; wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
