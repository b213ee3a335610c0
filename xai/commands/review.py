"""``xai review export`` / ``xai review import``: the expert review round-trip of a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.outputs import check_output_file


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("review", help="export a review sheet or import expert verdicts")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", parents=[common],
                                help="write a CSV sheet for experts to fill in")
    export.add_argument("--report", type=Path, required=True, help="report folder")
    export.add_argument("--out", type=Path,
                        help="CSV file to write (default: REPORT-review.csv beside the folder)")
    export.set_defaults(run=run_export)
    imp = actions.add_parser("import", parents=[common],
                             help="check a filled sheet and store its verdicts in the report")
    imp.add_argument("sheet", type=Path, help="the filled review sheet (CSV)")
    imp.add_argument("--report", type=Path, required=True, help="report folder it came from")
    imp.set_defaults(run=run_import)


def run_export(args: argparse.Namespace) -> int:
    from xai.commands.errors import UsageError
    from xai.runs.review import SHEET_COLUMNS, ReviewError, read_results, write_sheet

    out = args.out or args.report.with_name(f"{args.report.name}-review.csv")
    check_output_file(out, inputs=[args.report], header=",".join(SHEET_COLUMNS))
    try:
        sheet = write_sheet(read_results(args.report), out)
    except ReviewError as err:
        raise UsageError(str(err)) from err
    except (KeyError, TypeError, AttributeError) as err:  # a results.json edited by hand
        raise UsageError(f"{args.report / 'results.json'}: malformed review section "
                         f"({type(err).__name__}: {err})") from err
    if not args.quiet:
        print(f"wrote {len(sheet)} rows ({sheet['formulation_id'].nunique()} formulations) to "
              f"{out}; fill in expert_verdict (agree / disagree / unsure) and comment, then run "
              f"`xai review import {out} --report {args.report}`")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from xai.commands.errors import UsageError
    from xai.runs.review import ReviewError, import_review

    try:
        record = import_review(args.sheet, args.report)
    except ReviewError as err:
        raise UsageError(str(err)) from err
    except (KeyError, TypeError, AttributeError) as err:  # a results.json edited by hand
        raise UsageError(f"{args.report / 'results.json'}: malformed review section "
                         f"({type(err).__name__}: {err})") from err
    show_verdicts(args.report)
    rates = record["rates"]
    overall = rates["overall"]
    print(f"imported {len(record['verdicts'])} verdicts: experts agree with "
          f"{pct(overall['agreement'])} of {overall['n_rated']} rated attributions "
          f"({overall['n_unsure']} unsure)")
    for method, r in rates["per_method"].items():
        print(f"  {method}: {pct(r['agreement'])} of {r['n_rated']} (top {rates['top_k']})")
    if not args.quiet:
        print(f"stored in {args.report}, and shown on its review pages; the next "
              f"`xai report --out {args.report}` keeps them")
    return 0


def show_verdicts(report: Path) -> None:
    """Fold the verdicts stored in ``report`` into its results and redraw its pages, so each
    review page shows every verdict and comment beside its attribution."""
    from xai.cli import redraw_report
    from xai.runs.review import fold_review, load_review, read_results

    record = load_review(report)
    if record is None:
        return
    results = read_results(report)
    results["expert_review"] = fold_review(record, results)
    redraw_report(results, report)


def pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"
