"""``xai predict``: predict properties for every formulation in a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from xai.commands.errors import UsageError


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("predict", parents=[common], help="predict with a trained Mixer")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--property", nargs="+", dest="properties", metavar="P",
                   help="properties to predict (default: those measured for each formulation)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from models.checkpoint import load_model
    from models.data import load_dataset
    from models.io import atomic_file

    model = load_model(args.model)
    dataset = load_dataset(args.data, require_measurements=False)
    recipes = dataset.recipes()
    if args.properties:
        unknown = sorted(set(args.properties) - set(model.properties))
        if unknown:
            raise UsageError(f"the model at {args.model} does not predict {unknown}; "
                             f"it predicts {list(model.properties)}")
        rows = pd.DataFrame(
            [(f, p) for f in dataset.formulation_ids for p in args.properties],
            columns=["formulation_id", "property"],
        )
    else:
        rows = dataset.measurements[["formulation_id", "property"]].drop_duplicates()
        rows = rows[rows["property"].isin(model.properties)].reset_index(drop=True)
    unknown_ingredients = model.encoder.unknown_ingredients(dataset.ingredient_names)
    if unknown_ingredients:
        raise UsageError(f"{args.data}: ingredients the model never saw: {unknown_ingredients}")
    rows["prediction"] = model.predict([recipes[f] for f in rows["formulation_id"]],
                                       rows["property"].tolist())
    with atomic_file(args.out) as tmp:
        rows.to_csv(tmp, index=False)
    if not args.quiet:
        print(f"wrote {len(rows)} predictions to {args.out}")
    return 0
