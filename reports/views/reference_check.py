"""Views of the cross-check of this project's attributions against shap and captum."""

from __future__ import annotations

from reports.figures import attributions as figs
from reports.format import count, num
from reports.views.common import cell, figure, heading, is_available, table, text

METHODS = {"ig": "Integrated Gradients", "shapley": "Shapley"}
REFERENCES = {"shap": "shap", "captum": "captum"}  # key in reference_check -> library
OURS = {"shap": "shapley", "captum": "ig"}  # our method each reference checks
REFERENCE_TOLERANCE = 1e-4  # of the largest |value|: agreement "to float precision"


def _reference_rows(check) -> tuple[list[tuple[str, dict]], list[str]]:
    """The available references of a cross-check as (key, entry), and a line for each one that
    is missing or unavailable."""
    rows, notes = [], []
    for key, name in REFERENCES.items():
        entry = check.get(key)
        if entry is None:
            notes.append(f"{name}: not run for this report.")
        elif not is_available(entry):
            notes.append(f"{name}: not available: {entry.get('reason') or 'no reason given'}.")
        else:
            rows.append((key, entry))
    return rows, notes


def _reference_verdict(entry: dict) -> tuple[str, float | None]:
    """("agrees to float precision" | "differs" | "", largest |value|): agreement when the
    largest |difference| is at most ``REFERENCE_TOLERANCE`` x the largest |value| compared."""
    values = [abs(v) for v in (entry.get("ours") or []) + (entry.get("reference_values") or [])
              if v is not None]
    largest = max(values) if values else None
    difference = entry.get("max_abs_difference")
    if difference is None or largest is None:
        return "", largest
    agrees = difference <= REFERENCE_TOLERANCE * largest
    return ("agrees to float precision" if agrees else "differs"), largest


def reference_reading(check) -> str:
    if not is_available(check) or not check:
        return ""
    verdicts = []
    for key, entry in _reference_rows(check)[0]:
        verdict = _reference_verdict(entry)[0]
        if verdict:
            verdicts.append(f"{entry.get('reference') or REFERENCES[key]} {verdict}")
    return "; cross-checked: " + ", ".join(verdicts) if verdicts else ""


def reference_blocks(check) -> list[dict]:
    """The shap / captum cross-check: a table, a line for each reference that did not run, and
    ours against the reference's values, one panel per reference."""
    blocks = [heading("Against shap and captum")]
    if check is None:
        return blocks + [text("No cross-check against shap and captum in these results.",
                              "note")]
    if not is_available(check):
        return blocks + [text("Cross-check against shap and captum not available: "
                              f"{check.get('reason') or 'no reason given'}.", "note")]
    rows, notes = _reference_rows(check)
    table_rows, panels = [], []
    for key, entry in rows:
        verdict, largest = _reference_verdict(entry)
        reference = entry.get("reference") or REFERENCES[key]
        if entry.get("n_steps"):
            reference += f" ({count(entry['n_steps'])} steps)"
        table_rows.append((reference, count(entry.get("n_cases")), entry.get("absence") or "",
                           num(entry.get("max_abs_difference"), 2), num(largest),
                           cell(verdict or "\u2013",
                                cls={"differs": "bad", "": ""}.get(verdict, "good"))))
        if entry.get("ours") and entry.get("reference_values"):
            panels.append({"title": reference, "ours": entry["ours"],
                           "reference": entry["reference_values"],
                           "ours_label": f"ours ({METHODS[OURS[key]]})",
                           "method": OURS[key],
                           "difference": entry.get("max_abs_difference")})
    if table_rows:
        blocks.append(table(
            ["reference", "cases", "absence", "largest |difference|", "largest |value|",
             "verdict"], table_rows,
            caption="Our attributions against the reference libraries on a seeded sample of "
                    "cases, same absence, model units",
            note=f"Agrees to float precision when the largest |difference| is at most "
                 f"{REFERENCE_TOLERANCE:g} of the largest |value| compared.",
            numeric=(1, 3, 4)))
    blocks.extend(text(line, "note") for line in notes)
    if panels:
        blocks.append(figure(figs.reference_scatter(panels),
                             "Scatter plots of our attributions against shap's and captum's",
                             "One dot per (case, ingredient); dashed: the 1:1 line."))
    return blocks
