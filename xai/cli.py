"""The ``xai`` command: the one place that wires data, models, analysers and reports together.

Each sub-command lives in its own module of :mod:`xai.commands` and registers itself through
``add_parser(subparsers, common)``; building the parser imports no numerical stack, each command
imports what it needs when it runs. Exit codes: 0 success, 2 bad input (any
:class:`models.errors.InputError`: data, config, checkpoint, review sheet, command line),
1 anything unexpected, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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


# -- drawing: the commands that write pages call these, so that reports is imported here alone


def draw_report(audit, folder: Path, *, before_replace: Callable[[Path], None] | None = None
                ) -> Path:
    """Write an audit's report folder (:func:`reports.write_report`); returns its index."""
    from reports import write_report

    return write_report(audit, folder, before_replace=before_replace)


def redraw_report(results: dict, folder: Path) -> None:
    """Rewrite ``results.json`` and redraw the pages of the report in ``folder``."""
    from models.io import atomic_file
    from reports.render import write_report
    from reports.writer import results_json

    with atomic_file(folder / "results.json") as tmp:
        tmp.write_text(results_json(results), encoding="utf-8")
    write_report(results, folder)


def draw_design_page(design: dict) -> str:
    """The HTML page of a ``design.json`` (:func:`reports.design_page.render_design_page`)."""
    from reports.design_page import render_design_page

    return render_design_page(design)
