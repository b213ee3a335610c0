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

from models.errors import InputError
from models.outputs import release_all
from models.threads import available_cpus, configure_threads

COMMANDS = ("synth", "import", "train", "predict", "explain", "represent", "report", "review",
            "design", "experiment", "sweep", "demo")
MODULES = {"import": "import_wide"}  # `import` is a Python keyword, so not a module name


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    common.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="threads for torch and the linear-algebra libraries (default: the "
                             "CPUs this process may use); commands with --jobs share them out")
    parser = argparse.ArgumentParser(
        prog="xai",
        description="Train, explain and audit Mixer models of formulation properties.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"xai.commands.{MODULES.get(name, name)}").add_parser(
            subparsers, common)
    return parser


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = getattr(args, "threads", None)
    configure_threads(threads if threads is not None else available_cpus())
    try:
        return int(args.run(args) or 0)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        release_all()  # output locks a failed command still held
