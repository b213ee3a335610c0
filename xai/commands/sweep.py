"""``xai sweep``: hyperparameter search with Optuna, shared through a study storage.

Start the same command on several machines or processes with one ``--storage`` URL and
``--study`` name and they work through one study: ``--trials`` is the study's total. Each
worker writes ``sweep.json`` (every trial so far) and ``best.toml`` (the best configuration so
far, for ``xai train --config``) into ``--out`` when it finishes; the last worker to finish
writes the final ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.choices import SAMPLERS
from models.outputs import check_output_folder
from xai.commands.arguments import nonnegative_int, positive_int
from xai.commands.errors import UsageError

RESULTS = "sweep.json"
BEST = "best.toml"


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("sweep", parents=[common],
                              help="hyperparameter search (Optuna), shareable between workers")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True,
                   help=f"folder for {RESULTS}, {BEST} and the default SQLite study")
    p.add_argument("--space", type=Path, required=True,
                   help="search-space TOML (see configs/sweep.toml)")
    p.add_argument("--storage", help="Optuna storage URL (default: sqlite:///OUT/sweep.db); "
                                     "any database URL Optuna accepts, e.g. postgresql://...")
    p.add_argument("--study", default="mixer", help="study name inside the storage")
    p.add_argument("--trials", type=positive_int,
                   help="total trials in the study, shared by all workers (grid: all points)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="sampler seed; keep it the same on every worker")
    p.add_argument("--split-seed", type=nonnegative_int, default=0,
                   help="seed of the train/validation/test split all trials share")
    p.add_argument("--epochs", type=positive_int, help="fix the number of epochs of every trial")
    p.add_argument("--no-prune", action="store_true",
                   help="train every trial to the end (default: median pruning)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output_folder(args.out, inputs=[args.data, args.space])
    import optuna

    from models.data import load_dataset
    from models.io import atomic_file, write_json
    from models.sweep import best_options, run_sweep, sweep_results
    from models.sweep_space import SpaceError, load_space, with_epochs, write_best_config
    try:
        space = load_space(args.space)
    except SpaceError as err:
        raise UsageError(str(err)) from None
    if args.epochs is not None:
        if args.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
        space = with_epochs(space, args.epochs)
    if args.trials is None and args.sampler != "grid":
        raise UsageError("--trials is required unless --sampler grid")
    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials must be at least 1, got {args.trials}")
    if args.sampler == "grid":
        try:
            space.grid()
        except SpaceError as err:
            raise UsageError(str(err)) from None
    args.out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(args.out / 'sweep.db').resolve()}"
    dataset = load_dataset(args.data)
    optuna.logging.set_verbosity(optuna.logging.WARNING if args.quiet else optuna.logging.INFO)
    try:
        study = run_sweep(dataset, space, storage=storage, study_name=args.study,
                          n_trials=args.trials, sampler=args.sampler, seed=args.seed,
                          split_seed=args.split_seed, prune=not args.no_prune,
                          progress=not args.quiet)
    except ValueError as err:
        raise UsageError(str(err)) from None
    results = sweep_results(study, space)
    results["storage"] = _redact(storage)
    with atomic_file(args.out / RESULTS) as tmp:
        write_json(tmp, results)
    best = best_options(study, space)
    if best is not None:
        b = results["best"]
        comment = (f"best of study {args.study!r}: trial {b['number']}, validation loss "
                   f"{b['value']:.6g}\nwrite with `xai sweep`; train with `xai train --config`")
        with atomic_file(args.out / BEST) as tmp:
            write_best_config(tmp, *best, comment=comment)
    print(format_sweep(results))
    if not args.quiet:
        print(f"results written to {args.out / RESULTS}"
              + (f" and {args.out / BEST}" if best is not None else ""))
    return 0


def format_sweep(results: dict) -> str:
    """Trial counts by state and the best trial's parameters."""
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(results["states"].items()))
    lines = [f"study {results['study']!r}: {len(results['trials'])} trials ({states or 'none'})"]
    best = results["best"]
    if best is None:
        lines.append("no trial has completed yet")
        return "\n".join(lines)
    lines.append(f"best: trial {best['number']}, validation loss {best['value']:.6g} "
                 "(MSE, standardised units)")
    lines += [f"  {k} = {v!r}" for k, v in sorted(best["params"].items())]
    return "\n".join(lines)


def _redact(url: str) -> str:
    """The storage URL without a password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"
