"""``xai train``: fit a Mixer on a dataset folder and save a checkpoint folder."""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

from models.outputs import check_output
from xai.commands.arguments import nonnegative_int, positive_int
from xai.commands.errors import UsageError


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("train", parents=[common], help="train a Mixer")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument("--config", type=Path, help="TOML file with [model] and [train] tables")
    p.add_argument("--seed", type=nonnegative_int,
                   help="seed for the split, initialisation and batches")
    p.add_argument("--epochs", type=positive_int, help="maximum number of epochs")
    p.add_argument("--ensemble", type=positive_int, metavar="K",
                   help="K cross-fitted members (1: a single model; default: 5 under 1,000 "
                        "measured recipes, else 1)")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                   help="retrain on all data for the epoch count chosen on validation (default: "
                        "on under 1,000 measured recipes)")
    p.add_argument("--smoothing", type=positive_int, metavar="N",
                   help="stop early on the median of the last N validation losses (default: 5 "
                        "under 1,000 measured recipes, else 1)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, "checkpoint", inputs=[args.data, args.config])
    from models.checkpoint import save_model
    from models.config import load_config
    from models.data import load_dataset
    from models.pipeline import measured_formulations
    from models.plans import fit_plan, plan_for
    from models.training import TrainConfig

    model_options, train_config = load_config(args.config) if args.config else ({}, TrainConfig())
    overrides = {k: v for k, v in (("seed", args.seed), ("epochs", args.epochs)) if v is not None}
    train_config = replace(train_config, **overrides)
    dataset = load_dataset(args.data)
    try:
        plan = plan_for(len(measured_formulations(dataset)), ensemble=args.ensemble,
                        refit=args.refit, smoothing=args.smoothing)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(f"training: {plan.describe()}")
    model = fit_plan(dataset, plan, mixer_options=model_options, train_config=train_config,
                     progress=not args.quiet)
    save_model(model, args.out)
    print(format_metrics(model.metrics))
    if not args.quiet:
        print(f"stopped: {model.history.stop_reason}; best epoch {model.history.best_epoch}")
        print(f"checkpoint written to {args.out}")
    return 0


def format_metrics(metrics: dict) -> str:
    """A plain-text table of test metrics per property and the headline summary."""
    header = (f"{'property':<26}{'n':>6}{'MAE':>11}{'RMSE':>11}{'R2':>8}{'R2 log':>8}"
              f"{'mean RMSE':>11}{'oracle R2':>11}")
    where = ("out-of-fold (every recipe predicted by an ensemble member that did not see it)"
             if "out_of_fold" in metrics else "test split")
    lines = [f"{where}, original units (R2 log: R2 of the logarithms, for log-transformed"
             " properties)", header, "-" * len(header)]
    for prop, parts in sorted(metrics["properties"].items()):
        t = parts["test"]
        oracle = t.get("oracle_r2")
        lines.append(
            f"{prop:<26}{t['n']:>6}{_num(t['mae']):>11}{_num(t['rmse']):>11}{_num(t['r2'], 3):>8}"
            f"{_num(t.get('r2_log'), 3):>8}"
            f"{_num(t['mean_predictor_rmse']):>11}{_num(oracle, 3):>11}"
        )
    s = metrics["summary"]
    lines.append("")
    lines.append(f"median test R2 over the {s['properties_200plus']} properties with >= 200 "
                 f"measurements: {_num(s['median_test_r2_200plus'], 3)}")
    losers = s["loses_to_mean_predictor_100plus"]
    lines.append("beats the mean predictor on every property with >= 100 measurements"
                 if not losers else f"does NOT beat the mean predictor on: {', '.join(losers)}")
    if "refit" in metrics:
        lines.append(f"refitted on all {metrics['refit']['n_formulations']} recipes for "
                     f"{metrics['refit']['epochs']} epochs; the metrics above were measured "
                     "before the refit")
    if "ensemble" in metrics:
        e = metrics["ensemble"]
        lines.append(f"ensemble of {e['k']} members (best epochs {e['best_epochs']}); the "
                     "analysed model " + (f"refitted on all data for {e['refit_epochs']} epochs"
                                          if e["refit"] else "is member 0"))
    return "\n".join(lines)


def _num(value, digits: int | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if digits is not None:
        return f"{value:.{digits}f}"
    return f"{value:.4g}"
