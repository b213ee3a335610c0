"""``xai import``: turn a wide lab table (CSV or Excel) into a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "import", parents=[common],
        help="convert a wide table (one row per recipe) into a dataset folder",
        description="Read a wide table -- one row per recipe, one column per ingredient, "
                    "property columns beside -- from a CSV file or an Excel workbook and write "
                    "formulations.csv, measurements.csv and (with units) properties.csv. "
                    "Every column that is not the id, a property or ignored is an ingredient.")
    p.add_argument("--wide", type=Path, required=True, metavar="FILE",
                   help="the wide table: .csv, .xlsx or .xlsm")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    p.add_argument("--id-column", metavar="NAME", help="recipe id column (default: the first)")
    p.add_argument("--properties", nargs="*", metavar="COLUMN", default=None,
                   help="property columns (measured values); give none for recipes only")
    p.add_argument("--ignore", nargs="+", metavar="COLUMN", default=(),
                   help="columns that are neither ingredients nor properties")
    p.add_argument("--mapping", type=Path, metavar="CSV",
                   help="CSV with columns column,role[,name,unit] (role: id, ingredient, "
                        "property or ignore), instead of --id-column/--properties/--ignore")
    p.add_argument("--sheet", help="worksheet of a workbook (default: the first)")
    p.add_argument("--units-row", action="store_true",
                   help="the row under the header holds units (kept for properties)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from models.data import load_dataset
    from models.wide_import import WideLayout, read_mapping, read_wide, write_contract
    from xai.commands.errors import UsageError

    layout = WideLayout(id_column=args.id_column, properties=tuple(args.properties or ()),
                        ignore=tuple(args.ignore), units_row=args.units_row, sheet=args.sheet)
    if args.mapping is not None:
        if args.properties or args.ignore:
            raise UsageError("give either --mapping or --properties/--ignore, not both")
        layout = read_mapping(args.mapping, layout)
    elif args.properties is None:
        raise UsageError("name the property columns with --properties (none for recipes "
                         "only) or describe every column in a --mapping file")
    tables = read_wide(args.wide, layout)
    write_contract(tables, args.out)
    # the folder must load as a dataset: the same checks training will make
    dataset = load_dataset(args.out, require_measurements=False)
    if not args.quiet:
        print(f"wrote {len(dataset.formulation_ids)} recipes of {len(dataset.ingredient_names)} "
              f"ingredients and {len(dataset.measurements)} measurements of "
              f"{dataset.measurements['property'].nunique()} properties to {args.out}")
    return 0
