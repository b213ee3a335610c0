"""The inverse-design page escapes user strings and lays out every design, from a hand-made
``design.json`` summary (no model needed)."""

from __future__ import annotations

import re

from reports.design_page import render_design_page

BAD_ING = "<script>alert(1)</script>"
BAD_PROP = '"><img src=x onerror=alert(1)>'
BAD_UNIT = "<b>mPa</b>"


def _prediction(prop, value, lower, upper, flags, target=None, reason=None) -> dict:
    inside = None if target is None or reason == "none" else (
        lower is not None and upper is not None and target["low"] <= lower
        and upper <= target["high"])
    return {"property": prop, "prediction": value, "spread": None, "lower": lower,
            "upper": upper, "interval_reason": reason, "flags": flags,
            "targeted": target is not None, "target": target,
            "meets_target": None if target is None else target["low"] <= value <= target["high"],
            "interval_inside_target": inside}


def _summary(feasible: bool = True, calibrated: bool = True) -> dict:
    target = {"low": 5.0, "high": 6.0}
    flags = [f"range:{BAD_ING}", "far"]
    if calibrated:
        predictions = [_prediction(BAD_PROP, 5.5, 5.1, 5.9, flags, target),
                       _prediction("viscosity", 1200.0, 0.0, None, flags,
                                   reason="unbounded: too few calibration residuals")]
    else:
        why = "the model carries no interval calibration"
        predictions = [_prediction(BAD_PROP, 5.5, None, None, flags, target, reason=why),
                       _prediction("viscosity", 1200.0, None, None, flags, reason=why)]
    design = {
        "design_id": "D1", "recipe": {"water": 80.0, BAD_ING: 20.0},
        "predictions": predictions,
        "target_distance": {BAD_PROP: 0.0 if feasible else 0.4},
        "meets_targets": feasible, "intervals_inside_targets": True if calibrated else None,
        "data_distance": 0.1,
        "nearest_training": [{"formulation_id": "F1", "distance": 0.1}],
        "flags": flags,
        "changes": [{"ingredient": BAD_ING, "start": 10.0, "design": 20.0},
                    {"ingredient": "gone", "start": 1.0, "design": 0.0}],
        "attribution": {"players": [BAD_ING, "gone"], "exact": True,
                        "values": {BAD_PROP: {BAD_ING: 0.3, "gone": -0.1}}},
        "truth": None, "meets_targets_under_truth": None,
    }
    return {
        "targets": [{"property": BAD_PROP, **target}], "feasible": feasible,
        "designs": [design],
        "diversity": {"mean_pairwise_distance": None, "distinct_ingredient_sets": 1,
                      "n_designs": 1},
        "methods": [{"method": "nsga2", "evaluations": 100, "seconds": 1.0,
                     "share_meeting_model": 1.0, "share_meeting_truth": None,
                     "diversity": {"distinct_ingredient_sets": 1}}],
        "intervals": ({"coverage": 0.9, "method": "cv+", "reason": None} if calibrated else
                      {"coverage": None, "method": None,
                       "reason": "the model carries no interval calibration"}),
        "flags": {"source": "model", "reason": None},
        "units": {BAD_PROP: BAD_UNIT, "viscosity": "mPa·s"},
    }


def _row(page: str, first_cell: str) -> str:
    """The row of the first design's predictions table whose first cell is ``first_cell``
    (already escaped)."""
    page = page[page.index("Predictions as xai predict states them"):]
    match = re.search(r"<tr>\s*<td[^>]*>\s*" + re.escape(first_cell) + r"\s*</td>(.*?)</tr>",
                      page, flags=re.S)
    assert match, first_cell
    return match.group(1)


def test_page_escapes_names_and_shows_changes():
    page = render_design_page(_summary())
    assert BAD_ING not in page and BAD_PROP not in page and BAD_UNIT not in page
    assert "&lt;script&gt;" in page
    assert 'id="D1"' in page and "Which change moved which property" in page
    assert "gone" in page and "-1" in page  # a removed ingredient still shows its change


def test_page_shows_intervals_met_and_flags():
    page = render_design_page(_summary())
    row = _row(page, "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;")
    # the interval as "lower – upper unit", the unit escaped; met by prediction and interval
    assert "5.100 \u2013 5.900 &lt;b&gt;mPa&lt;/b&gt;" in row
    assert row.count(">yes<") == 2
    assert "range:&lt;script&gt;alert(1)&lt;/script&gt;; far" in row
    # an unbounded interval of a calibrated model shows its open end
    assert "0 \u2013 \u221e mPa·s" in _row(page, "viscosity")
    assert "interval (90%)" in page and "cv+" in page
    assert "every targeted interval lies inside its target" in page


def test_page_without_calibration_says_why():
    page = render_design_page(_summary(calibrated=False))
    assert "No intervals: the model carries no interval calibration" in page
    row = _row(page, "viscosity")
    assert "\u2013" in row and "\u221e" not in row


def test_infeasible_page_says_so():
    assert "No design meets every target" in render_design_page(_summary(feasible=False))
