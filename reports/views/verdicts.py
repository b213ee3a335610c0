"""The verdict box at the top of the report: per property fit for use / use with care / not fit
with its reason, and the audit's three most important caveats. The rules are applied in
:mod:`xai.checks.fitness`; this view only lays out what ``results["verdicts"]`` holds."""

from __future__ import annotations

from reports.format import count, fixed
from reports.views.common import cell, table

CLASSES = {"fit for use": "fit", "use with care": "care", "not fit": "notfit"}


def verdict_box(verdicts: dict | None, units: dict[str, str]) -> dict:
    """``{"available", "headline", "table", "caveats", "rules", "reason"}``."""
    if not verdicts or verdicts.get("available") is False:
        reason = (verdicts or {}).get("reason") or "these results hold no verdicts"
        return {"available": False, "reason": f"No verdict: {reason}."}
    props = verdicts["properties"]
    order = {"not fit": 0, "use with care": 1, "fit for use": 2}
    rows = []
    for name, v in sorted(props.items(), key=lambda kv: (order.get(kv[1]["verdict"], 3),
                                                        kv[0])):
        n = count(v.get("n_test"))
        rows.append((
            cell(name),
            cell(units.get(name) or "\u2013"),
            cell(v["verdict"], cls=f"verdict {CLASSES.get(v['verdict'], '')}"),
            cell(fixed(v.get("r2")), cls="num"),
            cell(n + (" (small)" if v.get("small_sample") else ""), cls="num"),
            cell(v["reason"], title="; ".join(v.get("reasons", []))),
        ))
    counts = verdicts.get("counts", {})
    headline = (f"{counts.get('fit for use', 0)} of {len(props)} properties fit for use, "
                f"{counts.get('use with care', 0)} to use with care, "
                f"{counts.get('not fit', 0)} not fit.")
    return {
        "available": True,
        "headline": headline,
        "table": table(["property", "unit", "verdict", "test R\u00b2", "test n", "reason"],
                       rows, caption="Fitness per property (test split)", numeric=(3, 4)),
        "caveats": list(verdicts.get("caveats", [])),
        "rules": list(verdicts.get("rules", [])),
        "small_sample": verdicts.get("small_sample"),
    }
