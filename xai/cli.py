"""The ``xai`` command: the one place that wires data, models, analysers and reports together.

Each sub-command lives in its own module under ``xai/commands`` and registers itself through
``add_parser(subparsers, common)``. Exit codes: 0 success, 2 bad input (data, config or
checkpoint), 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from models.checkpoint import CheckpointError
from models.data import DataError

COMMANDS = ("synth", "train", "predict", "demo")


class UsageError(ValueError):
    """Bad command-line input that argparse could not catch (a bad config file, say)."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars or chatter")
    parser = argparse.ArgumentParser(
        prog="xai",
        description="Train, explain and audit Mixer models of formulation properties.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"xai.commands.{name.replace('-', '_')}").add_parser(
            subparsers, common
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (DataError, CheckpointError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
