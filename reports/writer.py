"""The report folder of an audit, written all at once or not at all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xai.runs.audit import Audit

INDEX_FILE = "index.html"
RESULTS_FILE = "results.json"
ATTRIBUTIONS_FILE = "attributions.csv"


def write_report(audit: Audit | Mapping, folder: str | Path, *,
                 before_replace: Callable[[Path], None] | None = None) -> Path:
    """Write the report folder of ``audit`` and return the path of its ``index.html``.

    Parameters
    ----------
    audit : what :func:`xai.runs.audit.run_audit` returns (its ``results`` dict and its
        ``attributions`` table, or None), or a bare results dict.
    folder : the report folder; it is built beside itself and replaces any previous one only
        once every file is written, so a failure leaves the previous report intact.
    before_replace : called with the temporary folder once every file is written and before it
        replaces ``folder``, to add files of one's own.

    The folder holds ``index.html`` (self-contained), ``review/*.html`` (one page per review
    formulation), ``results.json`` (every number the pages show, strict compact JSON: a NaN
    or infinity raises ValueError before anything is written) and, when the audit has an
    attribution table, ``attributions.csv`` (one row per formulation x property x ingredient
    x method; text cells that a spreadsheet would read as a formula are neutralised).
    """
    from models.io import atomic_folder, safe_for_spreadsheets
    from reports.render import write_report as write_pages

    if isinstance(audit, Mapping):
        results, table = dict(audit), None
    else:
        results, table = audit.results, getattr(audit, "attributions", None)
    text = results_json(results)
    folder = Path(folder)
    with atomic_folder(folder, kind="report") as tmp:
        (tmp / RESULTS_FILE).write_text(text, encoding="utf-8")
        if table is not None:
            safe_for_spreadsheets(table).to_csv(tmp / ATTRIBUTIONS_FILE, index=False)
        write_pages(results, tmp)
        if before_replace is not None:
            before_replace(tmp)
    return folder / INDEX_FILE


def results_json(results: Mapping) -> str:
    """``results`` as strict, compact JSON with sorted keys, the way ``results.json`` is written
    (the project's one JSON policy, :func:`models.io.dumps_json`: NumPy values as plain ones,
    non-finite numbers as null)."""
    from models.io import dumps_json

    return dumps_json(results, compact=True) + "\n"
