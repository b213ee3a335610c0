"""View data of the inverse-design page, from ``design.json``'s dictionary.

Every number is formatted here; the template only loops over sections and blocks.
"""

from __future__ import annotations

from reports.format import MISSING, num, pct, signed
from reports.views.common import cell, heading, num_cell, section, table, text

FLAG_LEGEND = (
    "Applicability flags, as xai predict gives them: unseen:CODE (an ingredient no training "
    "recipe held), rare:CODE(n) (held by only n training recipes), range:CODE (an amount outside "
    "that ingredient's training range), far (a composition further from the training recipes "
    "than 99 % of them are from each other), disagree (ensemble members disagree more than on "
    "99 % of training recipes).")


def design_view(summary: dict) -> dict:
    """``{"title", "subtitle", "units", "sections"}`` for ``design.json``'s ``summary``."""
    targets = summary["targets"]
    props = [t["property"] for t in targets]
    designs = summary["designs"]
    div = summary["diversity"]
    met = sum(bool(d["meets_targets"]) for d in designs)
    truth = [d["meets_targets_under_truth"] for d in designs
             if d["meets_targets_under_truth"] is not None]
    intervals = summary.get("intervals") or {}
    lines = [f"{len(designs)} designs; {met} meet every target under the model"]
    if intervals.get("coverage") is not None:
        inside = sum(bool(d.get("intervals_inside_targets")) for d in designs)
        lines.append(f"{inside} with every targeted {pct(intervals['coverage'])} interval wholly "
                     "inside its target")
    if truth:
        lines.append(f"{sum(truth)} under the truth (noise-free synthetic oracle)")
    lines.append(f"{div['distinct_ingredient_sets']} distinct ingredient sets, mean pairwise "
                 f"composition distance {num(div['mean_pairwise_distance'])}")
    overview = [
        table(["property", "low", "high"],
              [[t["property"], num_cell(num(t["low"], 4)), num_cell(num(t["high"], 4))]
               for t in targets], caption="Targets (original units)"),
        text("; ".join(lines) + "."),
    ]
    if not summary["feasible"]:
        overview.append(text("No design meets every target under the model: these are the "
                             "nearest designs found, with their distance to the targets.",
                             cls="warning"))
    overview.append(text(_trust_note(summary)))
    overview.append(table(
        ["method", "candidates", "seconds", "designs meeting (model)", "(truth)",
         "distinct sets"],
        [[m["method"], num_cell(str(m["evaluations"])), num_cell(num(m["seconds"])),
          num_cell(pct(m["share_meeting_model"])), num_cell(pct(m["share_meeting_truth"])),
          num_cell(str(m["diversity"]["distinct_ingredient_sets"]))]
         for m in summary["methods"]],
        caption="Search methods at the same budget"))
    sections = [section("overview", "Inverse design", "What was asked and what was found.",
                        overview)]
    units = summary.get("units") or {}
    for d in designs:
        sections.append(section(d["design_id"], f"Design {d['design_id']}",
                                _reading(d), _design_blocks(d, props, intervals, units)))
    return {"title": "Inverse design", "subtitle": ", ".join(
        f"{t['property']} {num(t['low'], 4)}..{num(t['high'], 4)}" for t in targets),
        "units": "Amounts in the dataset's units; predictions and intervals in each property's "
                 "units; distances to targets in standardised model units (0 inside the "
                 "range); attributions in standardised model units.",
        "sections": sections}


def _trust_note(summary: dict) -> str:
    """Where the intervals and flags come from, and the flags' legend."""
    intervals = summary.get("intervals") or {}
    flags = summary.get("flags") or {}
    if intervals.get("coverage") is not None:
        lines = [f"Intervals: {pct(intervals['coverage'])} conformal "
                 f"({intervals.get('method') or 'calibrated'}), from the model's calibration."]
    else:
        lines = [f"No intervals: {intervals.get('reason') or 'not available'}."]
    if flags.get("reason"):
        lines.append(f"Flags: {flags['reason']}.")
    return " ".join([*lines, FLAG_LEGEND])


def _reading(d: dict) -> str:
    verdict = "meets every target under the model" if d["meets_targets"] else \
        "misses a target under the model"
    inside = d.get("intervals_inside_targets")
    if inside is not None:
        verdict += ("; every targeted interval lies inside its target" if inside else
                    "; not every targeted interval lies inside its target")
    if d["meets_targets_under_truth"] is not None:
        verdict += (", and under the truth" if d["meets_targets_under_truth"] else
                    ", but not under the truth")
    return f"{len(d['recipe'])} ingredients; {verdict}."


def _yes_no(value) -> str:
    return MISSING if value is None else ("yes" if value else "no")


def _interval(p: dict, calibrated: bool, unit: str) -> dict:
    """``lower – upper unit``; a null bound of a calibrated model is unbounded."""
    if not calibrated:
        return num_cell(MISSING, title=p.get("interval_reason"))
    low = "\u2212\u221e" if p["lower"] is None else num(p["lower"], 4)
    high = "\u221e" if p["upper"] is None else num(p["upper"], 4)
    return num_cell(f"{low} \u2013 {high} {unit}".strip(), title=p.get("interval_reason"))


def _design_blocks(d: dict, props: list[str], intervals: dict,
                   units: dict[str, str]) -> list[dict]:
    calibrated = intervals.get("coverage") is not None
    label = f"interval ({pct(intervals['coverage'])})" if calibrated else "interval"
    rows = []
    for p in d["predictions"]:
        name, target = p["property"], p.get("target")
        rows.append([
            name, num_cell(f"{num(p['prediction'], 4)} {units.get(name, '')}".strip()),
            _interval(p, calibrated, units.get(name, "")),
            num_cell(MISSING if target is None else
                     f"{num(target['low'], 4)}..{num(target['high'], 4)}"),
            cell(_yes_no(p.get("meets_target"))), cell(_yes_no(p.get("interval_inside_target"))),
            cell("; ".join(p["flags"]) or "none"),
            num_cell(num(d["target_distance"].get(name))),
            num_cell(num((d["truth"] or {}).get(name), 4)),
        ])
    blocks = [table(
        ["property", "predicted", label, "target", "met (prediction)", "met (whole interval)",
         "flags", "distance to target", "truth"], rows,
        caption="Predictions as xai predict states them (targeted properties first)",
        note="met (whole interval): the whole interval lies inside the target range.")]
    start = {c["ingredient"]: c["start"] for c in d["changes"]}
    rows = [[c, num_cell(num(a, 4)),
             num_cell(signed(a - start[c], 4) if c in start else "")]
            for c, a in d["recipe"].items()]
    rows += [[c, num_cell("0"), num_cell(signed(-start[c], 4))]
             for c in start if c not in d["recipe"]]
    blocks.append(table(["ingredient", "amount", "change from start"], rows, caption="Recipe"))
    near = ", ".join(f"{n['formulation_id']} ({num(n['distance'])})"
                     for n in d["nearest_training"])
    blocks.append(text(f"Nearest training recipes (composition distance): {near}."))
    if d["flags"]:
        blocks.append(text("Applicability flags: " + "; ".join(d["flags"]) + ".",
                           cls="warning"))
    a = d["attribution"]
    if a and a["players"]:
        blocks.append(heading("Which change moved which property"))
        blocks.append(table(
            ["ingredient", *props],
            [[ing, *[num_cell(signed(a["values"][p][ing])) for p in props]]
             for ing in a["players"]],
            caption=("Shapley values of the change from the start recipe, "
                     + ("exact" if a["exact"] else "sampled permutations")),
            note="Each column sums to the prediction of the design minus that of the start "
                 "recipe."))
    return blocks
