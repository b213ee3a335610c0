"""Views of the per-formulation review pages: the recipe, and per property the measured and
predicted values, Integrated Gradients and Shapley values side by side, a waterfall, flags
where the methods disagree, and the strongest interactions."""

from __future__ import annotations

import re

from reports.figures import attributions as figs
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

FOLDER = "review"


def page_name(index: int, formulation_id: str) -> str:
    """A safe, unique file name for a formulation's page (ids are user data)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", formulation_id).strip("_")[:40] or "formulation"
    return f"{FOLDER}/{index + 1:02d}-{slug}.html"


def review_pages(review: dict, palette: Palette) -> list[dict]:
    """One page view per review formulation: ``{href, formulation_id, n_ingredients,
    properties, n_flags, section}``."""
    pages = []
    for index, entry in enumerate(review.get("cases", [])):
        pages.append(_page(index, entry, palette, review))
    return pages


def _page(index: int, entry: dict, palette: Palette, review: dict) -> dict:
    fid = entry["formulation_id"]
    recipe = entry["recipe"]
    balance = entry.get("balance_ingredient")
    blocks = [
        text("Attributions are in the property's standardised model units (after the log "
             "transform where one applies): how much each ingredient moves the prediction from "
             "the recipe without it. Measured and predicted values are in original units. "
             f"Absent ingredient = '{review.get('absence', '')}'"
             + (f"; {balance} is the balance ingredient and gets no attribution."
                if review.get("absence") == "balance" and balance else "."), "note"),
        table(["ingredient", "group", "amount"],
              [(cell(r["ingredient"]), group_cell(r["group"], palette), num(r["amount"], 4))
               for r in recipe],
              caption=f"Recipe ({len(recipe)} ingredients)", numeric=(2,)),
    ]
    n_flags = 0
    for prop in entry["properties"]:
        prop_blocks, flags = _property_blocks(prop, palette, review)
        n_flags += flags
        blocks.extend(prop_blocks)
    reading = (f"{len(recipe)} ingredients, {len(entry['properties'])} measured properties, "
               f"{n_flags} attributions flagged where Integrated Gradients and Shapley disagree.")
    return {
        "href": page_name(index, fid),
        "formulation_id": fid,
        "n_ingredients": len(recipe),
        "properties": [p["property"] for p in entry["properties"]],
        "n_flags": n_flags,
        "section": section(f"formulation-{index + 1}", f"Formulation {fid}", reading, blocks),
    }


def _property_blocks(prop: dict, palette: Palette, review: dict) -> tuple[list[dict], int]:
    rows, flags = [], 0
    ordered = sorted(prop["ingredients"], key=lambda r: (r["shapley_rank"] or 10**6,
                                                         r["ig_rank"] or 10**6))
    for r in ordered:
        flagged = bool(r["flags"])
        flags += flagged
        se = r.get("shapley_se")
        shap = signed(r["shapley"]) + (f" \u00b1 {num(se, 2)}" if se else "")
        rows.append((
            cell(r["ingredient"], cls="bad" if flagged else ""),
            group_cell(r["group"], palette),
            num(r["amount"], 4),
            num_cell(signed(r["ig"]), cls=_sign_class(r["ig"])),
            num_cell(shap, cls=_sign_class(r["shapley"])),
            count(r["ig_rank"]), count(r["shapley_rank"]),
            cell("; ".join(r["flags"]) or "", cls="bad" if flagged else ""),
        ))
    measured = prop.get("measured")
    blocks = [
        heading(prop["property"]),
        table(["", "value"], [
            ("measured (original units)", num(measured, 4)),
            ("predicted (original units)", num(prop["predicted"], 4)),
            ("prediction, model units", num(prop["prediction_model_units"], 4)),
            ("f(no ingredient), model units (Shapley baseline)",
             num(prop["baseline_model_units"], 4)),
            ("Integrated Gradients baseline, model units", num(prop["ig_baseline_model_units"], 4)),
            ("Shapley values", "exact" if prop["shapley_exact"] else "sampled permutations"),
        ], numeric=(1,)),
        figure(figs.review_figure([r["ingredient"] for r in prop["ingredients"]],
                                  [r["ig"] for r in prop["ingredients"]],
                                  [r["shapley"] for r in prop["ingredients"]],
                                  prop["baseline_model_units"], prop["prediction_model_units"],
                                  palette, title=prop["property"]),
               f"Waterfall of Shapley values and IG versus Shapley bars for {prop['property']}"),
        table(["ingredient", "group", "amount", "IG", "Shapley", "IG rank", "Shapley rank",
               "methods disagree"], rows,
              caption=f"Attributions for {prop['property']} (model units; ranks by |value|)",
              note=f"Flagged: opposite signs where either value is at least "
                   f"{round(100 * review.get('flag_share', 0.1))}% of the largest, or in one "
                   f"method's top {review.get('top_k', 3)} only.",
              numeric=(2, 3, 4, 5, 6)),
    ]
    pairs = prop.get("interactions") or []
    if pairs:
        blocks.append(table(
            ["ingredient", "ingredient", "interaction"],
            [(p["a"], p["b"], num_cell(signed(p["value"]), cls=_sign_class(p["value"])))
             for p in pairs],
            caption="Strongest pairwise interactions (Shapley interaction index, model units)",
            numeric=(2,)))
    else:
        blocks.append(text("Interactions not computed: the recipe has more players than exact "
                           "enumeration allows.", "note"))
    return blocks, flags


def _sign_class(value) -> str:
    if value is None:
        return ""
    return "pos" if value > 0 else "neg" if value < 0 else ""
