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
from typing import TYPE_CHECKING

from models.outputs import check_output_file
from xai.commands.errors import UsageError
from xai.commands.partition_options import add_partition_options, model_files, partition_of

if TYPE_CHECKING:
    import pandas as pd

HEADER = "formulation_id,property,prediction"
SHOWN = 5  # skipped pairs named in the warning


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("predict", parents=[common], help="predict with a trained Mixer")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--property", nargs="+", action="extend", dest="properties", metavar="P",
                   help="properties to predict (default: those measured for each "
                        "formulation; every property of the model where the folder has no "
                        "measurements)")
    p.add_argument("--coverage", type=float, metavar="C",
                   help="coverage of the prediction intervals (default: the calibrated 0.9)")
    p.add_argument("--strict", action="store_true",
                   help="refuse (exit 2) instead of skipping pairs the model cannot predict")
    add_partition_options(p)
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
    check_output_file(args.out, inputs=[args.data, args.model], header=HEADER)
    import numpy as np
    import pandas as pd

    from models.checkpoint import load_model
    from models.data import load_dataset
    from models.io import atomic_file, safe_for_spreadsheets
    model = loaded = load_model(args.model)
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
    from models.descriptors import with_unseen

    # described unseen ingredients become predictable (flagged unseen:CODE); pairs with any
    # other unseen ingredient are skipped and listed below
    model, _ = with_unseen(model, args.data, dataset.ingredient_names)
    rows = _drop_unpredictable(rows.reset_index(drop=True), model, recipes, args)
    if args.coverage is not None and not 0 < args.coverage < 1:
        raise UsageError("--coverage must be between 0 and 1, e.g. 0.9")
    rows = _predict(model, loaded, recipes, rows, args)
    if model.conformal is None and not args.quiet:
        print(f"note: {args.model} holds no interval calibration (trained before intervals "
              "existed, or without xai train); no lower/upper columns", file=sys.stderr)
    broken = rows[~np.isfinite(rows["prediction"].to_numpy(np.float64))]
    if len(broken):
        what = (f"{len(broken)} predictions are not finite numbers (amounts far outside the "
                f"training range?), e.g. formulation {broken['formulation_id'].iloc[0]!r}, "
                f"property {broken['property'].iloc[0]!r}")
        if args.strict:
            raise UsageError(f"{what} (--strict: nothing was written)")
        print(f"warning: {what}", file=sys.stderr)
    with atomic_file(args.out) as tmp:
        safe_for_spreadsheets(rows).to_csv(tmp, index=False)
    if not args.quiet:
        print(f"wrote {len(rows)} predictions to {args.out}")
    return 0


def _predict(model, loaded, recipes: dict, rows: pd.DataFrame, args) -> pd.DataFrame:
    """:func:`models.calibration.predict_table` (predictions, spread, intervals and flags) here,
    or in chunks on ``--jobs`` processes / the ``--scheduler`` cluster: the same table.
    ``loaded`` is the model as read from ``--model`` (``model`` may extend it)."""
    partition = partition_of(args)
    if not partition.parallel:
        from models.calibration import predict_table

        return predict_table(model, recipes, rows, coverage=args.coverage)
    from xai.runs.distributed import predict_partitioned

    return predict_partitioned(model_files(model, args.model, loaded), recipes, rows, partition,
                               coverage=args.coverage)


def _drop_unpredictable(rows: pd.DataFrame, model, recipes: dict, args) -> pd.DataFrame:
    """Rows the model can predict; the others are listed on stderr (count and the first few),
    or refused with ``--strict``."""
    known = set(model.properties)
    unseen = {f: model.encoder.unknown_ingredients(codes) for f, (codes, _) in recipes.items()}
    reasons = [
        f"property {p!r} is not one the model predicts" if p not in known else
        f"ingredient {unseen[f][0]!r} was never seen in training" if unseen[f] else ""
        for f, p in zip(rows["formulation_id"], rows["property"], strict=True)
    ]
    bad = [i for i, r in enumerate(reasons) if r]
    if bad:
        shown = "; ".join(f"formulation {rows['formulation_id'][i]!r}, property "
                          f"{rows['property'][i]!r}: {reasons[i]}" for i in bad[:SHOWN])
        more = f"; and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
        what = (f"{len(bad)} of {len(rows)} (formulation, property) pairs in {args.data} cannot "
                f"be predicted by the model at {args.model}: {shown}{more}")
        if args.strict:
            raise UsageError(f"{what} (--strict: nothing was written)")
        print(f"warning: skipped {what}", file=sys.stderr)
    return rows.drop(index=bad).reset_index(drop=True)
