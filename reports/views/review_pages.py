"""Views of the per-formulation review pages: the recipe, and per property the measured and
predicted values, Integrated Gradients and Shapley values side by side, a waterfall, flags
where the methods disagree, and the strongest interactions."""

from __future__ import annotations

import re

from reports.figures.review import review_figure
from reports.format import count, num, signed
from reports.palette import Palette
from reports.views.common import (
    cell,
    figure,
    group_cell,
    heading,
    num_cell,
    section,
    table,
    text,
)
from reports.views.stability import stability_marks, stable_cell

FOLDER = "review"


def page_name(index: int, formulation_id: str) -> str:
    """A safe, unique file name for a formulation's page (ids are user data)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", formulation_id).strip("_")[:40] or "formulation"
    return f"{FOLDER}/{index + 1:02d}-{slug}.html"


def review_pages(review: dict, palette: Palette, units: dict | None = None,
                 expert: dict | None = None, *, stability: dict | None = None) -> list[dict]:
    """One page view per review formulation: ``{href, formulation_id, n_ingredients,
    properties, n_flags, n_verdicts, section}``.

    ``units`` holds ``property`` (name -> unit) and ``amount`` (the amount unit); ``expert`` is
    the results' ``expert_review`` entry, whose verdicts are shown beside their attributions;
    ``stability`` the results' ``stability`` entry, whose marks (is this ingredient's Shapley
    value stable across ensemble members?) stand beside the attributions of an ensemble.
    """
    units = units or {}
    verdicts = {}
    for v in (expert or {}).get("verdicts") or []:
        verdicts[(v["formulation_id"], v["property"], v["ingredient"])] = v
    marks = stability_marks(stability)
    return [_page(index, entry, palette, review, units, verdicts, marks)
            for index, entry in enumerate(review.get("cases", []))]


def _page(index: int, entry: dict, palette: Palette, review: dict, units: dict,
          verdicts: dict, marks: dict) -> dict:
    fid = entry["formulation_id"]
    recipe = entry["recipe"]
    balance = entry.get("balance_ingredient")
    amount_unit = units.get("amount") or "as given"
    blocks = [
        text("Attributions are in the property's standardised model units (after the log "
             "transform where one applies): how much each ingredient moves the prediction. "
             "Beside them, the same shares in the property's original units: an amount added "
             "for untransformed properties, a factor (\u00d71.8: raises the prediction "
             "1.8-fold) for log-transformed ones. Measured and predicted values are in "
             f"original units; amounts in {amount_unit}. Absent ingredient = "
             f"'{review.get('absence', '')}'"
             + (f"; {palette.label(balance)} is the balance ingredient and gets no attribution "
                "(nothing to judge)." if review.get("absence") == "balance" and balance
                else "."), "note"),
        text("Two different reference points: Shapley values share out prediction \u2212 "
             "f(no ingredient), the model on a recipe with every ingredient absent; "
             "Integrated Gradients share out prediction \u2212 f(IG baseline), the model at "
             "the start of the integration path (every amount at its baseline). The two "
             "methods therefore explain different differences, and their sums differ.", "note"),
        table(["ingredient", "group", f"amount ({amount_unit})"],
              [(cell(palette.label(r["ingredient"])), group_cell(r["group"], palette),
                num(r["amount"], 4)) for r in recipe],
              caption=f"Recipe ({len(recipe)} ingredients)", numeric=(2,)),
    ]
    n_flags = n_verdicts = 0
    for prop in entry["properties"]:
        prop_blocks, flags, judged = _property_blocks(fid, prop, palette, review, units,
                                                      verdicts, marks)
        n_flags += flags
        n_verdicts += judged
        blocks.extend(prop_blocks)
    reading = (f"{len(recipe)} ingredients, {len(entry['properties'])} measured properties, "
               f"{n_flags} attributions flagged where Integrated Gradients and Shapley disagree"
               + (f"; {n_verdicts} expert verdicts shown beside their attributions."
                  if n_verdicts else "."))
    return {
        "href": page_name(index, fid),
        "formulation_id": fid,
        "n_ingredients": len(recipe),
        "properties": [p["property"] for p in entry["properties"]],
        "n_flags": n_flags,
        "n_verdicts": n_verdicts,
        "section": section(f"formulation-{index + 1}", f"Formulation {fid}", reading, blocks),
    }


def original(value, conversion: dict | None, unit: str) -> str:
    """A value converted by :mod:`xai.attribution.units` as people read it: ``+2,000 mPa·s``
    or ``×1.8``; an en dash where there is none."""
    if value is None or not conversion:
        return "\u2013"
    if conversion.get("kind") == "factor":
        return f"\u00d7{num(value, 3)}"
    return signed(value) + (f" {unit}" if unit else "")


def _property_blocks(fid: str, prop: dict, palette: Palette, review: dict, units: dict,
                     verdicts: dict, marks: dict) -> tuple[list[dict], int, int]:
    rows, flags, judged = [], 0, 0
    name = prop["property"]
    unit = (units.get("property") or {}).get(name, "")
    conversion = prop.get("conversion")
    amount_unit = units.get("amount") or "as given"
    ordered = sorted(prop["ingredients"], key=lambda r: (r["shapley_rank"] or 10**6,
                                                         r["ig_rank"] or 10**6))
    shown_verdicts = bool(verdicts)
    for r in ordered:
        flagged = bool(r["flags"])
        flags += flagged
        se = r.get("shapley_se")
        shap = signed(r["shapley"]) + (f" \u00b1 {num(se, 2)}" if se else "")
        none = r["ig"] is None and r["shapley"] is None
        row = [
            cell(palette.label(r["ingredient"]), cls="bad" if flagged else ""),
            group_cell(r["group"], palette),
            num(r["amount"], 4),
            num_cell(signed(r["ig"]), cls=_sign_class(r["ig"])),
            num_cell(shap, cls=_sign_class(r["shapley"])),
            num_cell(original(r.get("shapley_original"), conversion, unit)),
            count(r["ig_rank"]), count(r["shapley_rank"]),
            cell("no attribution (balance ingredient)" if none else "; ".join(r["flags"]),
                 cls="bad" if flagged else "note" if none else ""),
        ]
        if marks:
            row.append(stable_cell(marks, name, r["ingredient"]))
        if shown_verdicts:
            v = verdicts.get((fid, name, r["ingredient"]))
            judged += v is not None
            verdict = (v or {}).get("expert_verdict") or ""
            row += [cell(verdict or "\u2013",
                         cls={"agree": "good", "disagree": "bad"}.get(verdict, "")),
                    cell((v or {}).get("comment") or "")]
        rows.append(tuple(row))
    measured = prop.get("measured")
    in_unit = f" ({unit})" if unit else " (original units)"
    kind = (conversion or {}).get("kind")
    original_head = ("Shapley as a factor" if kind == "factor"
                     else f"Shapley in {unit}" if unit and kind else "Shapley, original units")
    columns = ["ingredient", "group", f"amount ({amount_unit})", "IG (model units)",
               "Shapley (model units)", original_head, "IG rank", "Shapley rank",
               "methods disagree"]
    if marks:
        columns.append("Shapley across ensemble members")
    if shown_verdicts:
        columns += ["expert verdict", "comment"]
    players = [r for r in prop["ingredients"] if r["shapley"] is not None or r["ig"] is not None]
    blocks = [
        heading(name + (f" ({unit})" if unit else "")),
        table(["", "value"], [
            ("measured" + in_unit, num(measured, 4)),
            ("predicted" + in_unit, num(prop["predicted"], 4)),
            ("prediction, model units", num(prop["prediction_model_units"], 4)),
            ("f(no ingredient), model units: the Shapley reference",
             num(prop["baseline_model_units"], 4)),
            ("f(IG baseline), model units: the Integrated Gradients reference",
             num(prop["ig_baseline_model_units"], 4)),
            *_trust_rows(prop, in_unit),
            ("Shapley values", "exact" if prop["shapley_exact"] else "sampled permutations"),
        ], numeric=(1,)),
        figure(review_figure([palette.label(r["ingredient"]) for r in players],
                             [r["ig"] for r in players],
                             [r["shapley"] for r in players],
                             prop["baseline_model_units"], prop["prediction_model_units"],
                             palette, title=name,
                             colours=[palette.colour(r["ingredient"]) for r in players]),
               f"Waterfall of Shapley values and IG versus Shapley bars for {name}"),
        table(columns, rows,
              caption=f"Attributions for {name} (ranks by |value|)",
              note=f"Flagged: opposite signs where either value is at least "
                   f"{round(100 * review.get('flag_share', 0.1))}% of the largest, or in one "
                   f"method's top {review.get('top_k', 3)} only. "
                   + ("Original units: the Shapley value as a factor on the prediction "
                      "(log-transformed property)." if kind == "factor" else
                      f"Original units: the Shapley value in {unit or 'the property’s units'}."
                      if kind else "No original-unit reading for this property's transform."),
              numeric=(2, 3, 4, 5, 6, 7)),
    ]
    pairs = prop.get("interactions") or []
    if pairs:
        blocks.append(table(
            ["ingredient", "ingredient", "interaction"],
            [(palette.label(p["a"]), palette.label(p["b"]),
              num_cell(signed(p["value"]), cls=_sign_class(p["value"]))) for p in pairs],
            caption="Strongest pairwise interactions (Shapley interaction index, model units)",
            numeric=(2,)))
    else:
        blocks.append(text("Interactions not computed: the recipe has more players than exact "
                           "enumeration allows.", "note"))
    return blocks, flags, judged


def _trust_rows(prop: dict, in_unit: str) -> list[tuple]:
    """The prediction interval and applicability flags of a review property, where the audit
    has them (models trained with intervals and a domain)."""
    rows = []
    interval = prop.get("interval")
    if interval:
        low, high = interval.get("lower"), interval.get("upper")
        span = ("unbounded (too few calibration residuals)" if low is None or high is None
                else f"{num(low, 4)} \u2013 {num(high, 4)}")
        rows.append((f"{round(100 * interval['coverage'])}% prediction interval{in_unit}",
                     span))
        if interval.get("around") is not None and prop.get("spread") is not None:
            rows.append(("ensemble mean (the interval's centre), spread",
                         f"{num(interval['around'], 4)} \u00b1 {num(prop['spread'], 2)}"))
    if "applicability" in prop:
        flags = prop["applicability"]
        rows.append(("applicability flags", cell("; ".join(flags) if flags else "none",
                                                 cls="bad" if flags else "good")))
    return rows


def _sign_class(value) -> str:
    if value is None:
        return ""
    return "pos" if value > 0 else "neg" if value < 0 else ""
