"""The inverse-design page escapes user strings and lays out every design, from a hand-made
``design.json`` summary (no model needed)."""

from __future__ import annotations

from reports.design_page import render_design_page

BAD_ING = "<script>alert(1)</script>"
BAD_PROP = '"><img src=x onerror=alert(1)>'


def _summary(feasible: bool = True) -> dict:
    design = {
        "design_id": "D1", "recipe": {"water": 80.0, BAD_ING: 20.0},
        "predicted": {BAD_PROP: 5.5}, "target_distance": {BAD_PROP: 0.0 if feasible else 0.4},
        "meets_targets": feasible, "data_distance": 0.1,
        "nearest_training": [{"formulation_id": "F1", "distance": 0.1}],
        "flags": [f"rare ingredients: ['{BAD_ING}']"],
        "changes": [{"ingredient": BAD_ING, "start": 10.0, "design": 20.0},
                    {"ingredient": "gone", "start": 1.0, "design": 0.0}],
        "attribution": {"players": [BAD_ING, "gone"], "exact": True,
                        "values": {BAD_PROP: {BAD_ING: 0.3, "gone": -0.1}}},
        "truth": None, "meets_targets_under_truth": None,
    }
    return {
        "targets": [{"property": BAD_PROP, "low": 5.0, "high": 6.0}], "feasible": feasible,
        "designs": [design],
        "diversity": {"mean_pairwise_distance": None, "distinct_ingredient_sets": 1,
                      "n_designs": 1},
        "methods": [{"method": "nsga2", "evaluations": 100, "seconds": 1.0,
                     "share_meeting_model": 1.0, "share_meeting_truth": None,
                     "diversity": {"distinct_ingredient_sets": 1}}],
    }


def test_page_escapes_names_and_shows_changes():
    page = render_design_page(_summary())
    assert BAD_ING not in page and BAD_PROP not in page
    assert "&lt;script&gt;" in page
    assert 'id="D1"' in page and "Which change moved which property" in page
    assert "gone" in page and "-1" in page  # a removed ingredient still shows its change


def test_infeasible_page_says_so():
    assert "No design meets every target" in render_design_page(_summary(feasible=False))
