"""``xai demo``: the whole job on the built-in synthetic data, from nothing to results."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.checkpoint import save_model
from models.data import load_dataset
from models.pipeline import fit_model
from models.synth import generate, write_dataset
from models.training import TrainConfig
from xai.commands.train import format_metrics


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("demo", parents=[common],
                              help="synthesise data, train and report, all in one go")
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="folder for everything")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data_dir, model_dir = args.out / "data", args.out / "model"
    say = (lambda *_: None) if args.quiet else print
    say(f"1/2 writing synthetic data to {data_dir}")
    write_dataset(generate(seed=args.seed), data_dir)
    dataset = load_dataset(data_dir)
    say(f"2/2 training a Mixer ({len(dataset.measurements)} measurements)")
    model = fit_model(dataset, train_config=TrainConfig(seed=args.seed), progress=not args.quiet)
    save_model(model, model_dir)
    print(format_metrics(model.metrics))
    print(f"model: {model_dir.resolve()}")
    return 0
