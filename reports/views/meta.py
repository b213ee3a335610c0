"""Views of experiment results, the expert review and provenance."""

from __future__ import annotations

import json

from reports.format import count, num, pct, seconds, short_hash
from reports.views.common import (
    cell,
    heading,
    is_available,
    n_cell,
    pre,
    rate_cell,
    section,
    table,
    text,
    unavailable,
)

MAX_ROWS = 40


def experiments_section(e: dict) -> dict:
    title = "Experiments"
    if not is_available(e) or not e.get("results"):
        return unavailable("experiments", title, e, "no experiment results given")
    results = e["results"]
    reading = (f"{len(results)} result file(s) from {e.get('folder', '')}: the numbers below are "
               "copied from them as written.")
    blocks = []
    for name, content in results.items():
        blocks.append(heading(name))
        rows = _flatten(content)
        if rows:
            blocks.append(table(["entry", "value"], rows[:MAX_ROWS], numeric=(1,),
                                note="" if len(rows) <= MAX_ROWS else
                                f"first {MAX_ROWS} of {len(rows)} entries; all are in "
                                "results.json"))
        else:
            blocks.append(text("no numbers found in this file", "note"))
    for bad in e.get("unreadable", []):
        blocks.append(text(f"unreadable: {bad}", "warning"))
    return section("experiments", title, reading, blocks)


def review_section(review: dict, expert: dict | None, pages: list[dict]) -> dict:
    """The list of review pages and, when verdicts were imported, expert agreement rates."""
    title = "Expert review"
    if not is_available(review):
        return unavailable("review", title, review)
    flags = sum(p["n_flags"] for p in pages)
    reading = (f"{len(pages)} formulations have a review page with Integrated Gradients and "
               f"Shapley values side by side; {flags} ingredient attributions are flagged where "
               "the methods disagree.")
    if expert and expert.get("rates"):
        overall = expert["rates"]["overall"]
        reading += (f" Experts agreed with {pct(overall.get('agreement'))} of "
                    f"{count(overall.get('n_rated'))} rated attributions.")
    imported = bool(expert and expert.get("rates"))
    columns = ["formulation", "ingredients", "properties", "flags"]
    if imported:
        columns.append("expert verdicts")
    blocks = [table(
        columns,
        [(cell(p["formulation_id"], href=p["href"]), count(p["n_ingredients"]),
          ", ".join(p["properties"]), count(p["n_flags"]))
         + ((count(p.get("n_verdicts", 0)),) if imported else ()) for p in pages],
        caption="Review pages", numeric=(1, 3, 4) if imported else (1, 3))]
    if imported:
        overall = expert["rates"]["overall"]
        blocks.append(text(
            f"Expert verdicts imported {expert.get('imported', '')}: "
            f"{count(expert.get('n_verdicts'))} verdicts, shown on the review pages beside "
            f"their attributions; experts agree with {pct(overall.get('agreement'))} of "
            f"{count(overall.get('n_rated'))} rated attributions "
            f"({count(overall.get('n_unsure'))} unsure).", "review-summary"))
        blocks.extend(_expert_blocks(expert))
    else:
        blocks.append(text(
            "To collect expert verdicts: `xai review export --report DIR` writes a sheet with "
            "one row per formulation x property x ingredient with an attribution (the balance "
            "ingredient has none and is left out); fill `expert_verdict` (agree, disagree or "
            "unsure) and `comment`, then `xai review import SHEET --report DIR`, which shows "
            "the verdicts on the review pages and the agreement rates here.", "note"))
        if expert is None:
            blocks.append(text("No expert verdicts imported yet.", "note"))
    return section("review", title, reading, blocks)


def _expert_blocks(expert: dict) -> list[dict]:
    rates = expert["rates"]
    blocks = [heading("Expert agreement")]
    if expert.get("stale"):
        blocks.append(text(expert["stale"], "warning"))
    blocks.append(text(
        f"Imported {expert.get('imported', '')} from {expert.get('source', '')}: "
        f"{count(rates['overall'].get('n_rated'))} rated rows "
        f"({count(rates['overall'].get('n_unsure'))} unsure, left out of the rates). "
        f"{rates.get('definition', '')}", "note"))

    def rows(entries: dict) -> list:
        return [(name, n_cell(r["n_rated"]), count(r["n_agree"]), count(r["n_disagree"]),
                 rate_cell(r["agreement"], r["n_rated"])) for name, r in entries.items()]

    columns = ["", "rated", "agree", "disagree", "agreement"]
    blocks.append(table(columns, rows({"all": rates["overall"]}), caption="Overall",
                        numeric=(1, 2, 3, 4)))
    blocks.append(table(columns, rows(rates.get("per_method", {})),
                        caption="Per method (rows that method ranks in its case's top "
                                f"{rates.get('top_k', 3)})", numeric=(1, 2, 3, 4)))
    blocks.append(table(columns, rows(rates.get("per_group", {})),
                        caption="Per ingredient group", numeric=(1, 2, 3, 4)))
    if rates.get("per_property"):
        blocks.append(table(columns, rows(rates["per_property"]), caption="Per property",
                            numeric=(1, 2, 3, 4)))
    return blocks


def provenance_section(p: dict) -> dict:
    title = "Provenance"
    data, ckpt = p.get("data", {}), p.get("checkpoint", {})
    reading = (f"Report created {p.get('created', '')} from checkpoint "
               f"{short_hash(ckpt.get('sha256'))} and data {short_hash(data.get('hash'))}"
               + ("; the data differ from those the model was trained on."
                  if data.get("same_as_training") is False else "."))
    seeds = p.get("seeds", {})
    blocks = [
        table(["item", "value"], [
            ("created", p.get("created", "")),
            ("checkpoint", ckpt.get("path") or "\u2013"),
            ("checkpoint sha256 (model.safetensors)", ckpt.get("sha256") or "\u2013"),
            ("data folder", data.get("root", "")),
            ("data hash (sha256 of formulations and measurements)", data.get("hash", "")),
            ("data hash at training", data.get("trained_on_hash") or "\u2013"),
            ("same data as training", {True: "yes", False: "NO", None: "unknown"}[
                data.get("same_as_training")]),
            ("seeds (training / split / audit)", " / ".join(
                str(seeds.get(k)) for k in ("training", "split", "audit"))),
            ("python", p.get("python", "")),
            ("platform", p.get("platform", "")),
        ], caption="Run"),
        table(["package", "version"],
              [(k, v or "not installed") for k, v in p.get("packages", {}).items()],
              caption="Package versions"),
        table(["analysis", "time"],
              [(k, seconds(v)) for k, v in p.get("timings_seconds", {}).items()],
              caption="Time per analysis", numeric=(1,)),
        heading("Configuration"),
        pre(json.dumps(p.get("config", {}), indent=2, sort_keys=True, default=str)),
    ]
    if data.get("same_as_training") is False:
        blocks.insert(0, text("The data hash differs from the one recorded at training: the "
                              "report describes the model on different data.", "warning"))
    return section("provenance", title, reading, blocks)


def _flatten(value, prefix: str = "", out: list | None = None) -> list:
    """(dotted path, formatted number or short text) for every scalar in a JSON value."""
    out = [] if out is None else out
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list):
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            out.append((prefix, ", ".join(num(v) for v in value[:8])
                        + (" \u2026" if len(value) > 8 else "")))
        else:
            for i, v in enumerate(value[:10]):
                _flatten(v, f"{prefix}[{i}]", out)
    elif isinstance(value, bool) or value is None:
        out.append((prefix, str(value).lower() if value is not None else "\u2013"))
    elif isinstance(value, int | float):
        out.append((prefix, num(value)))
    elif isinstance(value, str) and len(value) <= 80:
        out.append((prefix, value))
    return out
