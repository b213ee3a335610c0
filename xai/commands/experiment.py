"""``xai experiment``: model-selection experiments that need many trainings.

Sub-commands (each writes one JSON file into ``--out``, which ``xai report`` picks up):

- ``baselines``: ridge, random forest and gradient boosting on the split ``xai train --seed S``
  draws -> ``baselines.json``
- ``cv``: k-fold (or repeated random-split) comparison of the Mixer with the baselines, per
  property, with paired intervals -> ``cv.json``
- ``learning-curve``: test error against the share of training recipes -> ``learning_curve.json``
- ``ablation``: design variants against the default on the same folds -> ``ablation.json``
- ``reduce-ingredients``: merging rare ingredients (``xai.commands.experiment_reduce``) ->
  ``reduction.json``
- ``property-init``: retrain with a low-data property starting from (or tied to) a related
  property's task vector, across seeds (``xai.representation.property_retraining``) ->
  ``property_retraining.json``
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from models.choices import (
    BASELINES,
    CV_METHODS,
    DEFAULT_FRACTIONS,
    DEFAULT_VARIANTS,
    RARE_MODES,
    STRUCTURED_SPLITS,
)
from models.outputs import check_output_folder
from xai.commands import experiment_reduce
from xai.commands.arguments import integer, nonnegative_int, positive_int, probability, share
from xai.commands.errors import UsageError

if TYPE_CHECKING:
    from models.training import TrainConfig

OUTPUTS = {
    "baselines": "baselines.json",
    "cv": "cv.json",
    "learning-curve": "learning_curve.json",
    "ablation": "ablation.json",
    "reduce-ingredients": "reduction.json",
    "property-init": "property_retraining.json",
}
RETRAINING_MODES = ("init", "tie")  # xai.representation.property_retraining's modes


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "experiment", parents=[common],
        help="model selection: baselines, cross-validation, learning curves, ablations",
    )
    group = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--data", type=Path, required=True, help="dataset folder")
    shared.add_argument("--out", type=Path, required=True,
                        help="folder to write the result JSON into (created if missing)")
    shared.add_argument("--config", type=Path, help="TOML file with [model] and [train] tables")
    shared.add_argument("--seed", type=nonnegative_int,
                        help="seed for the splits and training (default: the config's, else 0)")
    trainings = argparse.ArgumentParser(add_help=False)
    trainings.add_argument("--epochs", type=positive_int, help="maximum training epochs per model")
    trainings.add_argument("--jobs", type=positive_int, default=1,
                           help="trainings run at once, one process and one thread each")
    with_baselines = argparse.ArgumentParser(add_help=False)
    with_baselines.add_argument("--baselines", nargs="+", choices=list(BASELINES),
                                default=list(BASELINES), help="baselines to fit beside the Mixer")
    folds = argparse.ArgumentParser(add_help=False)
    folds.add_argument("--folds", type=integer(minimum=2), default=5, help="cross-validation folds")
    folds.add_argument("--split", choices=(*CV_METHODS, *STRUCTURED_SPLITS), default="kfold",
                       help="k folds (repeated --seeds times), or --seeds random 70/10/20 "
                            "splits; for cv also ingredient (leave --folds groups of ingredients "
                            "out), group (leave each expert group out) or size (train on small "
                            "recipes, test on large)")
    folds.add_argument("--confidence", type=probability, default=0.95, help="interval coverage")

    b = group.add_parser("baselines", parents=[common, shared, with_baselines],
                         help="fit the baselines on the split `xai train --seed` draws")
    b.set_defaults(run=run_baselines)

    c = group.add_parser("cv", parents=[common, shared, trainings, with_baselines, folds],
                         help="cross-validated Mixer vs baselines, per property")
    c.add_argument("--seeds", type=positive_int, default=1,
                   help="repeats of the k-fold split (or number of random splits)")
    c.set_defaults(run=run_cv)

    lc = group.add_parser("learning-curve", parents=[common, shared, trainings, with_baselines],
                          help="test error against the share of training recipes")
    lc.add_argument("--fractions", type=share, nargs="+", default=list(DEFAULT_FRACTIONS),
                    help="shares of the training recipes")
    lc.add_argument("--seeds", type=positive_int, default=3, help="trainings per share")
    lc.set_defaults(run=run_learning_curve)

    a = group.add_parser("ablation", parents=[common, shared, trainings, folds],
                         help="design variants against the default on the same folds")
    a.add_argument("--seeds", type=positive_int, default=1, help="repeats of the k-fold split")
    a.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), metavar="KEY=VALUE",
                   help="Mixer options (amount_encoding=fourier, layer_norm=true ...) or "
                        "rare_cut=T (cut ingredients in fewer than T training recipes)")
    a.add_argument("--rare-mode", choices=RARE_MODES, default="merge",
                   help="merge rare ingredients into one shared code, or drop them")
    a.set_defaults(run=run_ablation)

    r = group.add_parser("reduce-ingredients", parents=[common],
                         help="merge rare ingredients, retrain and compare k-fold errors")
    experiment_reduce.add_arguments(r)

    pi = group.add_parser("property-init", parents=[common, shared, trainings],
                          help="retrain with a low-data property sharing a related property's "
                               "task vector, across seeds")
    pi.add_argument("--low", required=True, metavar="P", help="the low-data property")
    pi.add_argument("--donor", required=True, metavar="P",
                    help="the related property whose vector it starts from (or shares)")
    pi.add_argument("--mode", choices=RETRAINING_MODES, default="init",
                    help="init: start the low-data vector from the donor's; tie: one shared "
                         "vector throughout")
    pi.add_argument("--seeds", type=int, default=3, help="trainings (and splits) compared")
    pi.set_defaults(run=run_property_init)


# ------------------------------------------------------------------------------- runners


def run_baselines(args: argparse.Namespace) -> int:
    from models.baselines import baseline_metrics
    from models.data import load_dataset
    from models.pipeline import measured_formulations
    from models.splits import random_split
    from models.threads import current_threads

    _, train_config = _config(args)
    dataset = load_dataset(args.data)
    split = random_split(measured_formulations(dataset), seed=train_config.seed)
    result = {"kind": "baselines", **baseline_metrics(dataset, split, seed=train_config.seed,
                                                      names=args.baselines,
                                                      jobs=current_threads())}
    path = _write(args.out, "baselines", result)
    print(format_baselines(result))
    _done(args, path)
    return 0


def run_cv(args: argparse.Namespace) -> int:
    from models.cv import cross_validate
    from models.data import load_dataset

    model_options, train_config = _config(args)
    _check_counts(args)
    dataset = load_dataset(args.data)
    _check_folds(args, dataset)
    if args.split in STRUCTURED_SPLITS:
        from models.structured_splits import structured_splits

        try:  # fail on the data before any training starts
            structured_splits(dataset, args.split, folds=args.folds, seed=train_config.seed)
        except ValueError as err:
            raise UsageError(f"--split {args.split}: {err}") from None
    result = cross_validate(dataset, method=args.split, folds=args.folds, seeds=args.seeds,
                            seed=train_config.seed, mixer_options=model_options,
                            train_config=train_config, baselines=args.baselines,
                            confidence=args.confidence, jobs=args.jobs, progress=not args.quiet)
    path = _write(args.out, "cv", result)
    print(format_cv(result))
    _done(args, path)
    return 0


def run_learning_curve(args: argparse.Namespace) -> int:
    from models.data import load_dataset
    from models.learning_curve import learning_curve

    model_options, train_config = _config(args)
    _check_counts(args)
    if any(not 0 < f <= 1 for f in args.fractions):
        raise UsageError(f"--fractions must be in (0, 1], got {args.fractions}")
    dataset = load_dataset(args.data)
    result = learning_curve(dataset, fractions=args.fractions, seeds=args.seeds,
                            seed=train_config.seed, mixer_options=model_options,
                            train_config=train_config, baselines=args.baselines,
                            jobs=args.jobs, progress=not args.quiet)
    path = _write(args.out, "learning-curve", result)
    print(format_learning_curve(result))
    _done(args, path)
    return 0


def run_ablation(args: argparse.Namespace) -> int:
    from models.ablation import ablation, parse_variant
    from models.data import load_dataset

    model_options, train_config = _config(args)
    _check_counts(args)
    if args.split in STRUCTURED_SPLITS:
        raise UsageError(f"--split {args.split} is for `xai experiment cv`; ablations use "
                         "kfold or random")
    try:
        for v in args.variants:
            if v.strip() != "default":
                parse_variant(v)
    except (TypeError, ValueError) as err:
        raise UsageError(f"--variants: {err}") from None
    dataset = load_dataset(args.data)
    _check_folds(args, dataset)
    result = ablation(dataset, variants=args.variants, method=args.split, folds=args.folds,
                      seeds=args.seeds, seed=train_config.seed, mixer_options=model_options,
                      train_config=train_config, rare_mode=args.rare_mode,
                      confidence=args.confidence, jobs=args.jobs, progress=not args.quiet)
    path = _write(args.out, "ablation", result)
    print(format_ablation(result))
    _done(args, path)
    return 0


def run_property_init(args: argparse.Namespace) -> int:
    from models.data import load_dataset
    from xai.representation.property_retraining import property_retraining

    model_options, train_config = _config(args)
    _check_counts(args)
    dataset = load_dataset(args.data)
    for name in (args.low, args.donor):
        if name not in dataset.property_names:
            raise UsageError(f"{args.data} has no property {name!r}")
    if args.low == args.donor:
        raise UsageError("--donor must differ from --low")
    seeds = [train_config.seed + k for k in range(args.seeds)]
    result = property_retraining(dataset, low_property=args.low, donor=args.donor, seeds=seeds,
                                 mode=args.mode, train_config=train_config,
                                 mixer_options=model_options, progress=not args.quiet)
    path = _write(args.out, "property-init", {"kind": "property_retraining",
                                              **result.to_dict()})
    d = result.rmse_difference
    print(f"{args.low} sharing {args.donor}'s vector ({args.mode}), {len(seeds)} seeds: "
          f"test RMSE change {_num(d.estimate)} [{_num(d.low)}, {_num(d.high)}], "
          f"{result.verdict}")
    _done(args, path)
    return 0


def _config(args: argparse.Namespace) -> tuple[dict, TrainConfig]:
    check_output_folder(args.out, inputs=[args.data, args.config])
    from models.config import ConfigError, load_config
    from models.training import TrainConfig
    try:
        options, train_config = load_config(args.config) if args.config else ({}, TrainConfig())
    except ConfigError as err:
        raise UsageError(str(err)) from None
    overrides = {"seed": args.seed, "epochs": getattr(args, "epochs", None)}
    train_config = replace(train_config, **{k: v for k, v in overrides.items() if v is not None})
    if train_config.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {train_config.epochs}")
    return options, train_config


def _check_counts(args: argparse.Namespace) -> None:
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1, got {args.seeds}")
    confidence = getattr(args, "confidence", 0.95)
    if not 0 < confidence < 1:
        raise UsageError(f"--confidence must be between 0 and 1, got {confidence}")


def _check_folds(args: argparse.Namespace, dataset) -> None:
    from models.pipeline import measured_formulations

    n = len(measured_formulations(dataset))
    if args.split == "kfold" and not 2 <= args.folds <= n:
        raise UsageError(f"--folds must be between 2 and the {n} measured formulations, "
                         f"got {args.folds}")


def _write(out: Path, experiment: str, result: dict) -> Path:
    from models.io import atomic_file, write_json

    out.mkdir(parents=True, exist_ok=True)
    path = out / OUTPUTS[experiment]
    with atomic_file(path) as tmp:
        write_json(tmp, result)
    return path


def _done(args: argparse.Namespace, path: Path) -> None:
    if not args.quiet:
        print(f"results written to {path}")


# ------------------------------------------------------------------------------- tables


def format_baselines(result: dict) -> str:
    """Test RMSE per property and baseline (original units)."""
    names = list(result["models"])
    header = f"{'property':<26}{'n':>6}" + "".join(f"{n:>19}" for n in names) + f"{'mean':>12}"
    lines = ["baselines, test split, RMSE in original units", header, "-" * len(header)]
    props = sorted({p for m in result["models"].values() for p in m})
    for prop in props:
        first = result["models"][names[0]][prop]
        cells = "".join(f"{_num(result['models'][n][prop]['rmse']):>19}" for n in names)
        lines.append(f"{prop:<26}{first['n']:>6}{cells}{_num(first['mean_predictor_rmse']):>12}")
    return "\n".join(lines)


def format_cv(result: dict) -> str:
    """Per property: Mixer vs best baseline, mean test RMSE and the paired interval."""
    level = f"{100 * result['confidence']:g}%"
    header = (f"{'property':<26}{'n':>6}{'Mixer RMSE':>13}{'best baseline':>19}{'RMSE':>11}"
              f"{'Mixer - baseline [' + level + ' CI]':>34}  verdict")
    splits = len(result["records"])
    lines = [f"cross-validation over {splits} splits ({_method(result)}); test RMSE in original "
             f"units, interval corrected for overlapping training sets", header,
             "-" * len(header)]
    rows = [(p, e) for p, e in sorted(result["properties"].items())]
    rows.append(("ALL (relative RMSE)", {"n_measurements": None, "comparison":
                                         result["overall"]["comparison"]}))
    for prop, entry in rows:
        c = entry["comparison"]
        n = "" if entry["n_measurements"] is None else entry["n_measurements"]
        if c is None:
            lines.append(f"{prop:<26}{n:>6}  (no comparison: too few test measurements)")
            continue
        ci = c["ci_corrected"] or c["ci"]
        interval = f"{_num(c['mean'])} [{_num(ci[0])}, {_num(ci[1])}]"
        lines.append(f"{prop:<26}{n:>6}{_num(c['mixer_mean']):>13}{c['baseline']:>19}"
                     f"{_num(c['baseline_mean']):>11}{interval:>34}  {c['verdict']}")
    return "\n".join(lines)


def format_learning_curve(result: dict) -> str:
    """Mean relative test RMSE (RMSE / mean-predictor RMSE) per model and share of data."""
    header = f"{'model':<20}" + "".join(
        f"{f'{100 * f:g}% ({n})':>16}" for f, n in zip(result["fractions"], result["n_train"],
                                                         strict=True))
    lines = ["learning curve: mean relative test RMSE over seeds (training recipes)", header,
             "-" * len(header)]
    for name, points in result["summary"].items():
        lines.append(f"{name:<20}" + "".join(f"{_pm(p):>16}" for p in points))
    return "\n".join(lines)


def format_ablation(result: dict) -> str:
    """Per variant: relative RMSE difference from the default with its interval."""
    level = f"{100 * result['confidence']:g}%"
    overall = result["overall"]
    header = f"{'variant':<28}{'relative RMSE':>16}{'vs default [' + level + ' CI]':>34}  verdict"
    lines = [f"ablation over {len(result['records']) // len(result['variants'])} splits "
             f"({_method(result)}); mean relative test RMSE (RMSE / mean-predictor RMSE)",
             header, "-" * len(header)]
    for name in result["variants"]:
        summary = overall["summary"][name]
        c = overall["comparison"].get(name)
        if c is None:
            lines.append(f"{name:<28}{_pm(summary):>16}")
            continue
        ci = c["ci_corrected"] or c["ci"]
        interval = f"{_num(c['mean'])} [{_num(ci[0])}, {_num(ci[1])}]"
        lines.append(f"{name:<28}{_pm(summary):>16}{interval:>34}  {c['verdict']}")
    return "\n".join(lines)


def _method(result: dict) -> str:
    if result["method"] in STRUCTURED_SPLITS:
        return f"{len(result['records'])} {result['method']} splits"
    if result["method"] == "kfold":
        repeats = f" x {result['seeds']} repeats" if result["seeds"] > 1 else ""
        return f"{result['folds']}-fold{repeats}"
    return f"{result['seeds']} random splits"


def _pm(summary: dict) -> str:
    sd = summary["sd"]
    return _num(summary["mean"]) + ("" if sd is None or math.isnan(sd) else f" ± {_num(sd)}")


def _num(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"
