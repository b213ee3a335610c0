"""The inverse-design section of BENCHMARKS.md, from ``bench/results-design.json``.

The section sits between two HTML comment markers, so ``python -m bench.design`` can replace it
without touching the rest of the page, and ``bench.markdown`` appends it when it rewrites the
page from the other benchmarks' results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
DESIGN_RESULTS = HERE / "results-design.json"
PAGE = HERE.parent / "BENCHMARKS.md"
BEGIN = "<!-- design benchmark: written by python -m bench.design -->"
END = "<!-- end of design benchmark -->"


def stored_section() -> str:
    """The section rendered from the stored raw results, or ``""`` when there are none."""
    if not DESIGN_RESULTS.exists():
        return ""
    return render_section(json.loads(DESIGN_RESULTS.read_text()))


def update_page(results: dict, page: Path | None = None) -> Path:
    """Put the section for ``results`` into ``page`` (default BENCHMARKS.md), replacing the old
    one or appending it."""
    page = page or PAGE
    section = render_section(results)
    text = page.read_text() if page.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    page.write_text(text)
    return page


def render_section(r: dict) -> str:
    s, c, m = r["summary"], r["config"], r["machine"]
    nsga, rand = s["share_meeting_truth"]["nsga2"], s["share_meeting_truth"]["random"]
    lines = [
        BEGIN,
        "## Inverse design (`xai design`)",
        "",
        f"Written by `{r['command']}` ({r['mode']} mode) on {m['date']}, {m['cpu']}, "
        f"{m['cores']} cores, torch threads {c['threads']}; 1-minute load average "
        f"{_num(r['load_at_start'])} at the start and {_num(r['load_at_end'])} at the end; "
        f"{_num(r['elapsed_s'], 4)} s in all (raw numbers: `{_rel(r['raw'])}`). The default "
        "model (trained to early stop on the default synthetic data) and "
        f"{s['sets']} seeded target sets, each on two properties of different property groups, "
        "centred on the true values of one test-split recipe, tolerance 10 % of the property's "
        "range over the test split's measurements (on the log scale for viscosities). "
        f"{c['n']} designs per run, budget {c['budget']} candidates per method (NSGA-II: "
        "population 100). "
        + ("The model was loaded from the work folder (trained there earlier with the default "
           "settings), so its fit time is not part of the run. "
           if r.get("model_fit_s") is None else
           f"The model was trained in this run ({_num(r['model_fit_s'])} s, not counted in the "
           "per-run times). ")
        + "Wall times are of the `design()` call in-process, imports included in the first "
        "run, on a machine shared with other work (see the load average).",
        "",
        "| target | measured | outcome |",
        "|---|---|---|",
        _row(">= 80 % of returned designs meet all targets under the truth",
             f"{_pct(nsga)} of {sum(x['n_designs'] for x in r['runs'])} designs",
             nsga is not None and nsga >= 0.8,
             f"{_points(nsga - 0.8)} points above 80 %",
             f"{_points(0.8 - nsga)} points short of 80 %"),
        _row("each run returns 10 designs with >= 5 distinct ingredient sets",
             f"{s['runs_with_10_designs']}/{s['sets']} runs with 10 designs; distinct sets: "
             f"min {s['distinct_sets_min']}, median {_num(s['distinct_sets_median'])}",
             s["runs_with_10_designs"] == s["sets"] and s["distinct_sets_min"] >= 5,
             "every run", "not every run"),
        _row("each run under 30 s on 2 cores",
             f"NSGA-II design: max {_num(s['nsga2_design_s_max'])} s, median "
             f"{_num(s['nsga2_design_s_median'])} s; with the random baseline: max "
             f"{_num(s['wall_s_max'])} s, median {_num(s['wall_s_median'])} s",
             s["wall_s_max"] < 30, f"{_num(30 - s['wall_s_max'])} s to spare",
             f"{_num(s['wall_s_max'] - 30)} s over"),
        _row("NSGA-II meets targets more often than random search at equal budget",
             f"{_pct(nsga)} vs {_pct(rand)} under the truth; NSGA-II ahead in "
             f"{s['runs_nsga2_beats_random']} runs, behind in {s['runs_random_beats_nsga2']}",
             nsga is not None and rand is not None and nsga > rand,
             "more often", "not more often"),
    ]
    t = s.get("tpe")
    if t:
        tn, tr, tt = (t["share_meeting_truth"][k] for k in ("nsga2", "random", "tpe"))
        lines.append(_row(
            "NSGA-II meets targets more often than TPE at equal budget",
            f"{t['sets']} sets at {t['evaluations']} candidates: NSGA-II {_pct(tn)}, random "
            f"{_pct(tr)}, TPE {_pct(tt)}",
            tn is not None and tt is not None and tn > tt, "more often", "not more often"))
    lines += [
        "",
        "Per method over all runs (share of the returned designs meeting every target; "
        "candidates meeting the targets under the model: median per run):",
        "",
        "| method | budget | under the truth | under the model | candidates meeting (model) |",
        "|---|---|---|---|---|",
    ]
    for k in ("nsga2", "random"):
        lines.append(f"| {k} | {c['budget']} | {_pct(s['share_meeting_truth'][k])} | "
                     f"{_pct(s['share_meeting_model'][k])} | "
                     f"{s['candidates_meeting_model_median'][k]:.0f} |")
    if t:
        lines += ["", f"TPE comparison ({t['sets']} sets, {t['evaluations']} candidates each; "
                  "median seconds of the search alone). TPE is compared at this smaller budget "
                  "because its own cost grows with trials x ingredients (every trial suggests "
                  "one amount per usable ingredient, 129 here, from all earlier trials): at "
                  f"{c['budget']} candidates one run would take tens of minutes. At this budget "
                  "NSGA-II has run only a few generations, and five sets are a small sample, "
                  "so this row says less than the comparison with random search above.", "",
                  "| method | under the truth | search s |", "|---|---|---|"]
        for k in ("nsga2", "random", "tpe"):
            lines.append(f"| {k} | {_pct(t['share_meeting_truth'][k])} | "
                         f"{_num(t['seconds_median'][k])} |")
    lines += ["", "Per target set (NSGA-II):", "",
              "| set | targets | truth | random (truth) | distinct sets | wall s |",
              "|---|---|---|---|---|---|"]
    for i, run in enumerate(r["runs"]):
        targets = "; ".join(f"{x['property']} {_num(x['low'], 4)}..{_num(x['high'], 4)}"
                            for x in run["targets"])
        lines.append(f"| {i + 1} | {targets} | "
                     f"{run['designs_meeting_truth']}/{run['n_designs']} | "
                     f"{_pct(run['methods']['random']['share_meeting_truth'])} | "
                     f"{run['distinct_ingredient_sets']} | {_num(run['wall_s'])} |")
    weak = [f"{i + 1} ({run['designs_meeting_truth']}/{run['n_designs']})"
            for i, run in enumerate(r["runs"])
            if run["designs_meeting_truth"] < 0.8 * max(run["n_designs"], 1)]
    if weak:
        lines += ["", f"Sets where fewer than 80 % of the NSGA-II designs meet the targets under "
                  f"the truth: {', '.join(weak)}."]
    lines.append(END)
    return "\n".join(lines)


def _row(target: str, figure: str, met: bool, yes: str, no: str) -> str:
    return f"| {target} | {figure} | **{'met' if met else 'missed'}**: {yes if met else no} |"


def _rel(path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(HERE.parent))
    except ValueError:
        return str(p)


def _num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def _points(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.1%}"
