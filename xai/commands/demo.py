"""``xai demo``: the whole job on the built-in synthetic data, from nothing to a report.

Synthesises the data, trains a Mixer with the default configuration (keeping embedding
snapshots, so the report can show how the vectors moved), and writes the audit report, printing
the path of its ``index.html``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from models.choices import DEFAULT_EPOCHS
from models.outputs import check_output, write_marker
from xai.commands.arguments import nonnegative_int, positive_int
from xai.commands.report import add_audit_options, audit_settings

SNAPSHOT_EVERY = 5  # epochs between embedding snapshots, for the learning dynamics


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("demo", parents=[common],
                              help="synthesise data, train and report, all in one go")
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="folder for everything")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--formulations", type=positive_int, default=2000, help="number of recipes")
    p.add_argument("--epochs", type=positive_int,
                   help=f"maximum training epochs (default {DEFAULT_EPOCHS})")
    add_audit_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import save_model
    from models.data import load_dataset
    from models.pipeline import fit_model
    from models.synth import generate, write_dataset
    from models.training import TrainConfig
    from xai.commands.report import write_report_folder
    from xai.commands.train import format_metrics

    data_dir, model_dir, report_dir = args.out / "data", args.out / "model", args.out / "report"
    say = (lambda *_: None) if args.quiet else print
    settings = audit_settings(args)
    check_output(args.out, "demo")  # a folder of data, model and report, each replaced whole
    args.out.mkdir(parents=True, exist_ok=True)
    write_marker(args.out, "demo")
    say(f"1/3 writing synthetic data to {data_dir}")
    write_dataset(generate(seed=args.seed, n_formulations=args.formulations), data_dir)
    dataset = load_dataset(data_dir)
    say(f"2/3 training a Mixer ({len(dataset.measurements)} measurements)")
    config = TrainConfig(seed=args.seed, snapshot_every=SNAPSHOT_EVERY)
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs, patience=min(config.patience, args.epochs))
    model = fit_model(dataset, train_config=config, progress=not args.quiet)
    save_model(model, model_dir)
    if not args.quiet:
        print(format_metrics(model.metrics))
    say(f"3/3 writing the report to {report_dir}")
    index = write_report_folder(model, dataset, report_dir, model_dir=model_dir,
                                settings=settings, quiet=args.quiet)
    print(f"report: {index.resolve()}")
    return 0
