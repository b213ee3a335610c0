"""Expert review of attributions: the review sheet, its validation, and agreement rates.

A report's review formulations (``results["review"]``) become a sheet with one row per
formulation x property x ingredient with an attribution (the balance ingredient has none),
showing the ingredient's readable name, the units, both attributions and empty
``expert_verdict`` (``agree``, ``disagree`` or ``unsure``) and ``comment`` columns. A filled
sheet is checked against the report it came from (every problem named with its line), and the
verdicts are stored in the report folder as ``expert_review.json`` with agreement rates:
overall, per method, per ingredient group and per property. The next ``xai report`` into that
folder carries the file over and shows the rates.

Per method, a verdict counts for a method when that method ranks the ingredient among the top
``k`` of its case by |attribution|: those are the ingredients a reader of that method's
explanation looks at, so the rate says how often experts agree with what each method highlights.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from models.errors import InputError
from models.io import atomic_file, restore_cell, safe_for_spreadsheets, write_json
from models.table_files import read_csv_table
from models.validation import Problem

VERDICTS = ("agree", "disagree", "unsure")
KEY = ("formulation_id", "property", "ingredient")
SHEET_COLUMNS = (*KEY, "name", "group", "amount", "amount_unit", "measured", "predicted",
                 "unit", "ig", "shapley", "ig_rank", "shapley_rank", "methods_disagree",
                 "expert_verdict", "comment")
REVIEW_FILE = "expert_review.json"
METHODS = ("ig", "shapley")
MAX_SHOWN = 20


class ReviewError(InputError):
    """A review sheet that does not fit its report; the message lists every problem."""


def review_rows(results: dict, *, unattributed: bool = False) -> pd.DataFrame:
    """The report's review cases as one row per formulation x property x ingredient.

    Ingredients without an attribution (the balance ingredient, which is not a player) are
    left out, as there is nothing for an expert to judge; ``unattributed=True`` keeps them.
    """
    review = results.get("review") or {}
    if review.get("available") is False or not review.get("cases"):
        raise ReviewError("the report has no review cases (its attributions did not run)")
    data = results.get("data") or {}
    names = data.get("ingredient_names") or {}
    units = data.get("property_units") or {}
    amount_unit = data.get("amount_unit") or "as given"
    rows = []
    for entry in review["cases"]:
        for prop in entry["properties"]:
            for r in prop["ingredients"]:
                if not unattributed and r["ig"] is None and r["shapley"] is None:
                    continue
                rows.append({
                    "formulation_id": entry["formulation_id"], "property": prop["property"],
                    "ingredient": r["ingredient"], "name": names.get(r["ingredient"], ""),
                    "group": r["group"], "amount": r["amount"], "amount_unit": amount_unit,
                    "measured": prop["measured"], "predicted": prop["predicted"],
                    "unit": units.get(prop["property"], ""),
                    "ig": r["ig"], "shapley": r["shapley"], "ig_rank": r["ig_rank"],
                    "shapley_rank": r["shapley_rank"],
                    "methods_disagree": "; ".join(r["flags"]),
                })
    frame = pd.DataFrame(rows, columns=list(SHEET_COLUMNS[:-2]))
    for column in ("ig_rank", "shapley_rank"):
        frame[column] = frame[column].astype("Int64")
    return frame


def write_sheet(results: dict, path: str | Path) -> pd.DataFrame:
    """Write the review sheet (CSV) for ``results`` to ``path``; returns it."""
    sheet = review_rows(results)
    sheet["expert_verdict"] = ""
    sheet["comment"] = ""
    with atomic_file(path) as tmp:
        # CRLF rows (as Excel writes them) so a name holding a bare CR is quoted, not split
        safe_for_spreadsheets(sheet).to_csv(tmp, index=False, lineterminator="\r\n")
    return sheet


def read_sheet(path: str | Path, results: dict) -> pd.DataFrame:
    """Read a filled sheet and check it against the report's review rows.

    Returns the rows with a verdict: ``formulation_id, property, ingredient, expert_verdict,
    comment`` plus the report's ``group``, ``ig_rank`` and ``shapley_rank`` (the report's
    values, whatever the sheet says).

    Raises
    ------
    ReviewError
        Listing every unreadable line, unknown row, duplicate and unknown verdict, or saying
        that no verdict was filled in.
    """
    path = Path(path)
    unreadable: list[Problem] = []
    table = read_csv_table(path, unreadable)
    if unreadable:
        raise ReviewError(f"{path}: cannot read the review sheet: "
                          + "; ".join(str(p).removeprefix(f"{path.name}, ") for p in unreadable))
    sheet = table.frame
    missing = [c for c in (*KEY, "expert_verdict") if c not in sheet.columns]
    if missing:
        raise ReviewError(f"{path}: missing columns {missing}; export a sheet with "
                          "`xai review export` and fill it in")
    if "comment" not in sheet.columns:
        sheet["comment"] = ""
    for column in (*KEY, "expert_verdict", "comment"):
        # strip, then undo the quote the export put before a cell a spreadsheet would run
        sheet[column] = sheet[column].astype(str).str.strip().map(restore_cell)
    sheet["expert_verdict"] = sheet["expert_verdict"].str.lower()
    known = review_rows(results).set_index(list(KEY))
    every = review_rows(results, unattributed=True).set_index(list(KEY))
    problems = []
    seen: dict[tuple, int] = {}
    for i, row in enumerate(sheet.itertuples(index=False)):
        line = int(table.lines[i])  # as an editor numbers it
        key = (row.formulation_id, row.property, row.ingredient)
        if key not in known.index and key in every.index:
            if row.expert_verdict:  # a row an older sheet listed: refused only when judged
                problems.append(f"line {line}: ingredient {row.ingredient!r} has no attribution "
                                f"in formulation {row.formulation_id!r} (it is the balance "
                                "ingredient, not a player); leave its expert_verdict empty")
        elif key not in known.index:
            problems.append(f"line {line}: formulation {row.formulation_id!r}, property "
                            f"{row.property!r}, ingredient {row.ingredient!r} is not in the "
                            "report's review")
        if key in seen:
            problems.append(f"line {line}: repeats line {seen[key]}")
        seen.setdefault(key, line)
        if row.expert_verdict and row.expert_verdict not in VERDICTS:
            problems.append(f"line {line}: expert_verdict {row.expert_verdict!r} is not one of "
                            f"{', '.join(VERDICTS)} (or empty)")
    if problems:
        shown = problems[:MAX_SHOWN]
        more = f"\n  ... and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        raise ReviewError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)
    sheet = sheet[[k in known.index for k in zip(*(sheet[c] for c in KEY), strict=True)]]
    filled = sheet[sheet["expert_verdict"] != ""]
    if filled.empty:
        raise ReviewError(f"{path}: no expert_verdict filled in (use {', '.join(VERDICTS)})")
    filled = filled[[*KEY, "expert_verdict", "comment"]].reset_index(drop=True)
    report = known[["group", "ig_rank", "shapley_rank"]].reset_index()
    return filled.merge(report, on=list(KEY), how="left")


def agreement_rates(verdicts: pd.DataFrame, *, top_k: int = 3) -> dict:
    """Share of ``agree`` among rows rated agree or disagree (``unsure`` rows are counted but
    left out of the shares): overall, per method (rows the method ranks in its top ``top_k``),
    per ingredient group and per property."""

    def rate(part: pd.DataFrame) -> dict:
        agree = int((part["expert_verdict"] == "agree").sum())
        disagree = int((part["expert_verdict"] == "disagree").sum())
        rated = agree + disagree
        return {"n_rated": rated, "n_agree": agree, "n_disagree": disagree,
                "n_unsure": int((part["expert_verdict"] == "unsure").sum()),
                "agreement": agree / rated if rated else None}

    per_method = {}
    for method in METHODS:
        ranks = pd.to_numeric(verdicts[f"{method}_rank"], errors="coerce")
        per_method[method] = rate(verdicts[ranks <= top_k])
    groups = verdicts["group"].fillna("").replace("", "ungrouped")
    return {
        "overall": rate(verdicts),
        "per_method": per_method,
        "per_group": {g: rate(verdicts[groups == g]) for g in sorted(set(groups))},
        "per_property": {p: rate(verdicts[verdicts["property"] == p])
                         for p in sorted(set(verdicts["property"]))},
        "top_k": top_k,
        "definition": (f"Agreement = agree / (agree + disagree). Per method: over the rows that "
                       f"method ranks among the top {top_k} ingredients of their case by "
                       f"|attribution|."),
    }


def import_review(sheet: str | Path, report: str | Path) -> dict:
    """Validate a filled ``sheet`` against the report folder ``report`` and store the verdicts
    and agreement rates there as ``expert_review.json``; returns what was stored."""
    report = Path(report)
    results = read_results(report)
    top_k = int((results.get("review") or {}).get("top_k", 3))
    verdicts = read_sheet(sheet, results)
    record = {
        "source": str(Path(sheet).resolve()),
        "imported": datetime.now(UTC).isoformat(timespec="seconds"),
        "checkpoint_sha256": ((results.get("provenance") or {}).get("checkpoint") or {}).get(
            "sha256"),
        "rates": agreement_rates(verdicts, top_k=top_k),
        "verdicts": [{k: (None if pd.isna(v) else v) for k, v in row.items()}
                     for row in verdicts.astype(object).to_dict("records")],
    }
    with atomic_file(report / REVIEW_FILE) as tmp:
        write_json(tmp, record)
    return record


def read_results(report: str | Path) -> dict:
    """The ``results.json`` of a report folder."""
    file = Path(report) / "results.json"
    if not file.is_file():
        raise ReviewError(f"{report}: not a report folder (no results.json); run `xai report` "
                          "first")
    return _json_object(file)


def _json_object(file: Path) -> dict:
    try:
        data = json.loads(file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ReviewError(f"{file}: not UTF-8 text (byte {err.start + 1})") from None
    except json.JSONDecodeError as err:
        raise ReviewError(f"{file}: invalid JSON ({err.msg}, line {err.lineno})") from err
    if not isinstance(data, dict):
        raise ReviewError(f"{file}: must hold a JSON object, not a {type(data).__name__}")
    return data


def load_review(report: str | Path) -> dict | None:
    """The verdicts stored in a report folder by :func:`import_review`, or None."""
    file = Path(report) / REVIEW_FILE
    if not file.is_file():
        return None
    record = _json_object(file)
    if not isinstance(record.get("rates"), dict):
        raise ReviewError(f"{file}: holds no 'rates' object; import the sheet again")
    return record


def fold_review(record: dict, results: dict) -> dict:
    """The ``expert_review`` entry of a new report's results: the stored rates, with a warning
    when the verdicts were given on a report of another checkpoint."""
    current = ((results.get("provenance") or {}).get("checkpoint") or {}).get("sha256")
    stale = ""
    if record.get("checkpoint_sha256") and current and record["checkpoint_sha256"] != current:
        stale = ("These verdicts were given on a report of a different checkpoint "
                 f"({record['checkpoint_sha256'][:12]}); the attributions they judged may have "
                 "changed.")
    return {"source": record.get("source"), "imported": record.get("imported"),
            "checkpoint_sha256": record.get("checkpoint_sha256"), "rates": record["rates"],
            "n_verdicts": len(record.get("verdicts", [])), "stale": stale,
            "verdicts": [{k: v.get(k) for k in (*KEY, "expert_verdict", "comment")}
                         for v in record.get("verdicts", [])]}
