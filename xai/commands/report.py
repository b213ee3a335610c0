"""``xai report``: audit a trained Mixer on a dataset and write the report folder.

The folder holds ``index.html`` (self-contained), ``results.json`` (every number the pages
show), ``attributions.csv`` (one row per formulation x property x ingredient x method) and
``review/*.html`` (one page per review formulation). It is written to a temporary folder beside
``--out`` and moved into place at the end, so a failure or an interruption leaves the previous
report intact. Expert verdicts imported into the previous report (``expert_review.json``) are
carried over.

``MIXER_XAI_TEST_PAUSE`` (seconds): wait that long after everything is written and before the
new report replaces the old one. Only the test that interrupts a report half-way uses it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from models.outputs import check_output
from xai.commands.arguments import nonnegative_int, positive_int
from xai.commands.errors import UsageError
from xai.runs.settings import AUDIT_ABSENCES, AuditSettings

PAUSE_VARIABLE = "MIXER_XAI_TEST_PAUSE"


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("report", parents=[common],
                              help="audit a trained Mixer and write an HTML report")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="report folder to write")
    add_audit_options(p)
    p.set_defaults(run=run)


def add_audit_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``xai report`` and ``xai demo``."""
    defaults = AuditSettings()
    p.add_argument("--experiments", type=Path,
                   help="folder of JSON results from `xai experiment` / `xai sweep` to include")
    p.add_argument("--max-cases", type=positive_int,
                   help="(formulation, property) pairs explained with IG and Shapley values "
                        f"(default {defaults.max_cases})")
    p.add_argument("--review-pages", type=nonnegative_int,
                   help="test formulations that get an expert review page "
                        f"(default {defaults.review_formulations})")
    p.add_argument("--absence", choices=AUDIT_ABSENCES, default="auto",
                   help="what an absent ingredient means (auto: balance when the data name a "
                        "balance ingredient, else removed)")
    p.add_argument("--reference-cases", type=nonnegative_int,
                   help="cases whose Shapley values and IG are cross-checked against shap and "
                        f"captum (default {defaults.reference_cases}, 6 with --quick; 0 skips "
                        "the check, which costs about 20 s of shap's compilation per process)")
    p.add_argument("--no-baselines", action="store_true",
                   help="skip fitting the bag-of-amounts baselines")
    p.add_argument("--quick", action="store_true",
                   help="a fast preview: fewer cases, permutations and donors, PCA instead of "
                        "UMAP, no baselines (the options above still apply where given)")
    p.add_argument("--report-seed", type=nonnegative_int, default=defaults.seed, dest="report_seed",
                   help="seed for case sampling, permutations and layouts")


def audit_settings(args: argparse.Namespace) -> AuditSettings:
    """The audit's settings, built once from the command line; ``--absence`` becomes an
    :class:`~xai.absence.Absence` here (``auto``: None, resolved by the audit from
    the data it explains)."""
    if args.max_cases is not None and args.max_cases < 1:
        raise UsageError("--max-cases must be at least 1")
    if args.review_pages is not None and args.review_pages < 0:
        raise UsageError("--review-pages must be at least 0")
    given = {"max_cases": args.max_cases, "review_formulations": args.review_pages,
             "reference_cases": args.reference_cases}
    changes = {k: v for k, v in given.items() if v is not None}
    if args.no_baselines:
        changes["baselines"] = False
    build = AuditSettings.quick if args.quick else AuditSettings.standard
    return build(absence=args.absence, seed=args.report_seed, experiments=args.experiments,
                 **changes)


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import load_model
    from models.data import load_dataset
    from xai.commands.predict import accept_unseen

    check_output(args.out, "report", inputs=[args.data, args.model, args.experiments])
    model = load_model(args.model)
    dataset = load_dataset(args.data)
    model = accept_unseen(model, args.data, dataset.ingredient_names)
    if args.experiments is not None and not args.experiments.is_dir():
        raise UsageError(f"--experiments {args.experiments}: not a folder")
    index = write_report_folder(model, dataset, args.out, model_dir=args.model,
                                settings=audit_settings(args), quiet=args.quiet)
    print(f"report: {index.resolve()}")
    return 0


def write_report_folder(model, dataset, out: Path, *, model_dir: Path | None,
                        settings: AuditSettings, quiet: bool) -> Path:
    """Audit ``model`` on ``dataset`` and write the report folder ``out`` atomically; returns
    the path of its ``index.html``."""
    from models.io import write_json
    from xai.cli import draw_report
    from xai.runs.audit import run_audit
    from xai.runs.review import REVIEW_FILE, ReviewError, fold_review, load_review

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        previous = load_review(out)
    except ReviewError as err:
        raise UsageError(str(err)) from err
    say("analysing")
    audit = run_audit(model, dataset, model_dir=model_dir, settings=settings, say=say)
    results = audit.results
    if previous is not None:
        results["expert_review"] = fold_review(previous, results)
    say("writing the report")

    def before_replace(tmp: Path) -> None:
        if previous is not None:
            write_json(tmp / REVIEW_FILE, previous)
        pause = float(os.environ.get(PAUSE_VARIABLE, "0") or 0)
        if pause > 0:
            say(f"pausing {pause:g} s before replacing {out}")
            time.sleep(pause)

    index = draw_report(audit, out, before_replace=before_replace)
    for problem in results.get("problems", []):
        print(f"warning: {problem}", file=sys.stderr)
    return index
