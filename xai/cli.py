"""The ``xai`` command: the one place that wires data, models, analysers and reports together.

Each sub-command lives in its own module under ``xai/commands`` and registers itself through
``add_parser(subparsers, common)``. Commands that draw go through :func:`write_report`, the only
import of the ``reports`` package outside it. Exit codes: 0 success, 2 bad input (data, config,
checkpoint or review sheet), 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from models.checkpoint import CheckpointError
from models.config import ConfigError
from models.data import DataError

COMMANDS = ("synth", "train", "predict", "report", "review", "demo", "design")
# Commands whose modules may not be installed yet; each is listed only when its module exists.
OPTIONAL_COMMANDS = ("explain", "represent", "experiment", "sweep")


class UsageError(ValueError):
    """Bad command-line input that argparse could not catch (a bad config file, say)."""


def available_commands() -> tuple[str, ...]:
    """``COMMANDS`` plus the optional commands whose modules are present."""
    extra = tuple(name for name in OPTIONAL_COMMANDS
                  if importlib.util.find_spec(f"xai.commands.{name.replace('-', '_')}"))
    return COMMANDS + extra


def write_report(results: dict, folder: str | Path) -> list[Path]:
    """Render the HTML pages of a report for ``results`` into ``folder`` (stage 3)."""
    from reports.render import write_report as render

    return render(results, folder)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars or chatter")
    parser = argparse.ArgumentParser(
        prog="xai",
        description="Train, explain and audit Mixer models of formulation properties.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in available_commands():
        importlib.import_module(f"xai.commands.{name.replace('-', '_')}").add_parser(
            subparsers, common
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (DataError, CheckpointError, ConfigError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # Run the importable module's main, so that commands raise the UsageError it catches
    # (under ``python -m xai.cli`` this file is also loaded a second time as ``xai.cli``).
    from xai.cli import main as _main

    sys.exit(_main())
