"""``xai predict``: predict properties for every formulation in a dataset folder.

Columns: ``formulation_id, property, prediction`` (original units; an ensemble's members'
mean), ``spread`` (ensembles: the members' standard deviation), ``lower, upper`` (conformal
interval) and ``flags`` (applicability: ``unseen:``, ``rare:``, ``range:``, ``far``,
``disagree``; see models.applicability).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from models.checkpoint import load_model
from models.data import load_dataset
from models.io import atomic_file
from xai.commands.errors import UsageError


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("predict", parents=[common], help="predict with a trained Mixer")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--property", nargs="+", dest="properties", metavar="P",
                   help="properties to predict (default: those measured for each "
                        "formulation; every property of the model where the folder has no "
                        "measurements)")
    p.add_argument("--coverage", type=float, metavar="C",
                   help="coverage of the prediction intervals (default: the calibrated 0.9)")
    p.set_defaults(run=run)


def accept_unseen(model, folder: Path, names):
    """``model`` extended by the unseen ingredients the folder's ingredients.csv describes (a
    model with descriptors); any other unseen ingredient is a usage error naming it."""
    from models.descriptors import with_unseen

    model, refused = with_unseen(model, folder, names)
    if refused:
        raise UsageError(f"{folder}: ingredients the model never saw"
                         + (" and has no descriptors for" if model.mixer.config.descriptor_names
                            else "") + f": {refused}")
    return model


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    dataset = load_dataset(args.data, require_measurements=False)
    recipes = dataset.recipes()
    properties = args.properties
    if not properties and len(dataset.measurements) == 0:
        properties = list(model.properties)  # recipes alone: predict every property
    if properties:
        unknown = sorted(set(properties) - set(model.properties))
        if unknown:
            raise UsageError(f"the model at {args.model} does not predict {unknown}; "
                             f"it predicts {list(model.properties)}")
        rows = pd.DataFrame(
            [(f, p) for f in dataset.formulation_ids for p in properties],
            columns=["formulation_id", "property"],
        )
    else:
        rows = dataset.measurements[["formulation_id", "property"]].drop_duplicates()
        rows = rows[rows["property"].isin(model.properties)].reset_index(drop=True)
    model = accept_unseen(model, args.data, dataset.ingredient_names)  # flagged unseen:CODE
    if args.coverage is not None and not 0 < args.coverage < 1:
        raise UsageError("--coverage must be between 0 and 1, e.g. 0.9")
    from models.calibration import predict_table

    rows = predict_table(model, recipes, rows, coverage=args.coverage)
    if model.conformal is None and not args.quiet:
        print(f"note: {args.model} holds no interval calibration (trained before intervals "
              "existed, or without xai train); no lower/upper columns", file=sys.stderr)
    with atomic_file(args.out) as tmp:
        rows.to_csv(tmp, index=False)
    if not args.quiet:
        print(f"wrote {len(rows)} predictions to {args.out}")
    return 0
