"""``xai experiment reduce-ingredients``: merge rare ingredients, retrain, compare k-fold errors.

Mounted by the ``experiment`` command group, which calls :func:`add_arguments` on its
sub-parser and :func:`run` with the parsed arguments. Writes ``reduction.json`` into ``--out``
and prints one line per threshold.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from models.choices import REDUCTION_STRATEGIES
from models.outputs import check_output_folder
from xai.commands.arguments import integer, nonnegative_int, positive_int
from xai.commands.errors import UsageError

if TYPE_CHECKING:
    from models.reduction import ReductionResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``reduce-ingredients`` (``--quiet`` comes from the common parent)."""
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder to write reduction.json into (created if missing)")
    parser.add_argument("--thresholds", type=nonnegative_int, nargs="+", default=[1, 2],
                        metavar="T",
                        help="merge ingredients found in fewer than T training recipes of a "
                             "fold (0, no merging, is always run as the reference)")
    parser.add_argument("--strategy", choices=REDUCTION_STRATEGIES, default="nearest",
                        help="merge into the nearest frequent ingredient in embedding space, or "
                             "into the most common frequent member of its expert group")
    parser.add_argument("--folds", type=integer(minimum=2), default=5,
                        help="cross-validation folds")
    parser.add_argument("--epochs", type=positive_int, help="maximum training epochs per model")
    parser.add_argument("--seed", type=nonnegative_int,
                        help="seed for the folds and training (default: the config's, else 0)")
    parser.add_argument("--config", type=Path, help="TOML file with [model] and [train] tables")
    parser.add_argument("--reference", type=Path,
                        help="checkpoint whose ingredient table drives 'nearest' merges "
                             "(default: train one on every formulation)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import load_model
    from models.config import load_config
    from models.data import load_dataset
    from models.io import atomic_file, write_json
    from models.pipeline import measured_formulations
    from models.reduction import reduce_ingredients
    from models.training import TrainConfig

    quiet = bool(getattr(args, "quiet", False))
    check_output_folder(args.out, inputs=[args.data, args.config, args.reference])
    model_options, train_config = load_config(args.config) if args.config else ({}, TrainConfig())
    overrides = {k: v for k, v in (("seed", args.seed), ("epochs", args.epochs)) if v is not None}
    train_config = replace(train_config, **overrides)
    if any(t < 0 for t in args.thresholds):
        raise UsageError(f"--thresholds must be non-negative, got {args.thresholds}")
    dataset = load_dataset(args.data)
    n = len(measured_formulations(dataset))
    if not 2 <= args.folds <= n:
        raise UsageError(f"--folds must be between 2 and the {n} measured formulations, "
                         f"got {args.folds}")
    if args.strategy == "group" and not dataset.ingredient_groups():
        raise UsageError("--strategy group needs ingredient groups (ingredients.csv)")
    reference = load_model(args.reference) if args.reference else None
    try:
        result = reduce_ingredients(
            dataset, thresholds=args.thresholds, strategy=args.strategy, folds=args.folds,
            seed=train_config.seed, train_config=train_config, reference_model=reference,
            mixer_options=model_options, progress=not quiet,
        )
    except ValueError as err:  # e.g. a reference model that lacks some ingredients
        raise UsageError(str(err)) from None
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_file(args.out / "reduction.json") as tmp:
        write_json(tmp, result.to_dict())
    print(format_table(result))
    if not quiet:
        print(f"written to {args.out / 'reduction.json'}")
    return 0


def format_table(result: ReductionResult) -> str:
    """One line per threshold: vocabulary size, CV error and its difference to no merging."""
    folds = result.settings.get("folds")
    header = (f"{'threshold':>9}{'ingredients':>13}{'merged':>8}"
              f"{'CV RMSE (model units)':>24}{'vs no merging [95% CI]':>32}")
    lines = [f"{result.strategy} merging, {folds}-fold cross-validation", header,
             "-" * len(header)]
    for t in result.thresholds:
        s = result.per_threshold[t]
        rmse, diff = s["overall_rmse"], s["overall_difference"]
        spread = _num((rmse["high"] - rmse["low"]) / 2)
        versus = ("reference" if t == 0 else
                  f"{_num(diff['estimate'], signed=True)} "
                  f"[{_num(diff['low'], signed=True)}, {_num(diff['high'], signed=True)}]")
        lines.append(f"{t:>9}{s['n_ingredients']:>13.1f}{s['n_merged']:>8.1f}"
                     f"{_num(rmse['estimate']) + ' +- ' + spread:>24}{versus:>32}")
    return "\n".join(lines)


def _num(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"
