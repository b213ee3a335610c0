"""View data of the inverse-design page, from ``design.json``'s dictionary.

Every number is formatted here; the template only loops over sections and blocks.
"""

from __future__ import annotations

from reports.format import num, pct, signed
from reports.views.common import heading, num_cell, section, table, text


def design_view(summary: dict) -> dict:
    """``{"title", "subtitle", "units", "sections"}`` for ``design.json``'s ``summary``."""
    targets = summary["targets"]
    props = [t["property"] for t in targets]
    designs = summary["designs"]
    div = summary["diversity"]
    met = sum(bool(d["meets_targets"]) for d in designs)
    truth = [d["meets_targets_under_truth"] for d in designs
             if d["meets_targets_under_truth"] is not None]
    lines = [f"{len(designs)} designs; {met} meet every target under the model"]
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
    for d in designs:
        sections.append(section(d["design_id"], f"Design {d['design_id']}",
                                _reading(d), _design_blocks(d, props)))
    return {"title": "Inverse design", "subtitle": ", ".join(
        f"{t['property']} {num(t['low'], 4)}..{num(t['high'], 4)}" for t in targets),
        "units": "Amounts in the dataset's units; distances to targets in standardised model "
                 "units (0 inside the range); attributions in standardised model units.",
        "sections": sections}


def _reading(d: dict) -> str:
    verdict = "meets every target under the model" if d["meets_targets"] else \
        "misses a target under the model"
    if d["meets_targets_under_truth"] is not None:
        verdict += (", and under the truth" if d["meets_targets_under_truth"] else
                    ", but not under the truth")
    return f"{len(d['recipe'])} ingredients; {verdict}."


def _design_blocks(d: dict, props: list[str]) -> list[dict]:
    blocks = [table(
        ["property", "predicted", "distance to target", "truth"],
        [[p, num_cell(num(d["predicted"][p], 4)), num_cell(num(d["target_distance"][p])),
          num_cell(num((d["truth"] or {}).get(p), 4))] for p in props],
        caption="Predictions")]
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
    for flag in d["flags"]:
        blocks.append(text(flag, cls="warning"))
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
