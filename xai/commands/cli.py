"""The ``xai`` command: the one place that wires data, models, analysers and reports together.

Each sub-command lives in its own module of this package and registers itself through
``add_parser(subparsers, common)``; building the parser imports no numerical stack, each command
imports what it needs when it runs. Exit codes: 0 success, 2 bad input (any
:class:`models.errors.InputError`: data, config, checkpoint, review sheet, command line),
1 anything unexpected, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from models.errors import InputError

# module names in this package; import_wide registers `xai import` (a Python keyword)
COMMANDS = ("synth", "import_wide", "train", "predict", "explain", "represent", "report", "review",
            "experiment", "sweep", "demo")


def write_report(results: dict, folder: str | Path) -> list[Path]:
    """Render the HTML pages of a report for ``results`` into ``folder`` (stage 3)."""
    from reports.render import write_report as render

    return render(results, folder)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    parser = argparse.ArgumentParser(
        prog="xai",
        description="Train, explain and audit Mixer models of formulation properties.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"xai.commands.{name}").add_parser(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
