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
    p.add_argument("--formulations", type=positive_int,
                   help="number of recipes (default: 2000, or 400 for --regime small)")
    p.add_argument("--regime", choices=("default", "small"), default="default",
                   help="default: cosmetic formulations with truth.json; small: ~400 blends of "
                        "~150 mostly rare components with descriptors and oracle.json")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, "dataset")
    if args.regime == "small":
        from models.synth_small import generate_small, write_small

        data = generate_small(seed=args.seed, n_formulations=args.formulations or 400)
        write_small(data, args.out)
    else:
        from models.synth import generate, write_dataset

        data = generate(seed=args.seed, n_formulations=args.formulations or 2000)
        write_dataset(data, args.out)
    if not args.quiet:
        print(f"wrote {len(data.formulations['formulation_id'].unique())} formulations and "
              f"{len(data.measurements)} measurements to {args.out}")
    return 0
