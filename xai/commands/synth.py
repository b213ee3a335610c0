"""``xai synth``: write the built-in synthetic dataset with its ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.outputs import check_output
from xai.commands.arguments import nonnegative_int, positive_int


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("synth", parents=[common],
                              help="write a synthetic dataset with a known ground truth")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--formulations", type=positive_int, default=2000, help="number of recipes")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, "dataset")
    from models.synth import generate, write_dataset
    data = generate(seed=args.seed, n_formulations=args.formulations)
    write_dataset(data, args.out)
    if not args.quiet:
        print(f"wrote {len(data.formulations['formulation_id'].unique())} formulations and "
              f"{len(data.measurements)} measurements to {args.out}")
    return 0
