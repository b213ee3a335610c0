"""The shap / captum cross-check in the attributions' quality section."""

import copy
import json
from pathlib import Path

import pytest

from reports.render import render_index
from reports.views import build_view

SCHEMA = Path(__file__).parents[2] / "reports" / "schema" / "results.schema.json"

OURS = [0.5, -0.25, 0.125, 1.0, -0.75, 0.0]


def _check():
    return {
        "shap": {"reference": "shap.ExactExplainer", "absence": "balance", "n_cases": 2,
                 "max_abs_difference": 1.2e-7, "per_case_max_abs": [1.2e-7, 5e-8],
                 "ours": OURS, "reference_values": [v + 1e-7 for v in OURS]},
        "captum": {"reference": "captum.attr.IntegratedGradients", "n_steps": 2048,
                   "absence": "balance", "n_cases": 2, "max_abs_difference": 0.3,
                   "per_case_max_abs": [0.3, 0.1], "ours": OURS,
                   "reference_values": [v + 0.3 for v in OURS]},
    }


def _results(tiny_audit, check):
    results = copy.deepcopy(tiny_audit.results)
    if check is None:
        results["attributions"].pop("reference_check", None)  # results written before it
    else:
        results["attributions"]["reference_check"] = check
    return results


def _section(results):
    view = build_view(results)
    return next(s for s in view["sections"] if s["id"] == "attributions"), view


def _after_heading(section):
    blocks = section["blocks"]
    start = next(i for i, b in enumerate(blocks)
                 if b["kind"] == "heading" and b["text"] == "Against shap and captum")
    end = next(i for i, b in enumerate(blocks) if i > start and b["kind"] == "heading")
    return blocks[start + 1:end]


def test_the_table_gives_the_largest_difference_and_a_verdict(tiny_audit):
    section, view = _section(_results(tiny_audit, _check()))
    blocks = _after_heading(section)
    (table,) = [b for b in blocks if b["kind"] == "table"]
    assert table["columns"][:4] == ["reference", "cases", "absence", "largest |difference|"]
    rows = [[c["text"] for c in row] for row in table["rows"]]
    assert rows[0][:4] == ["shap.ExactExplainer", "2", "balance", "1.2e-07"]
    assert rows[0][-1] == "agrees to float precision"
    assert rows[1][0] == "captum.attr.IntegratedGradients (2,048 steps)"
    assert rows[1][-1] == "differs"  # 0.3 > 1e-4 x 1.3
    (figure,) = [b for b in blocks if b["kind"] == "figure"]
    assert figure["svg"].startswith("<svg")
    assert "shap.ExactExplainer agrees to float precision" in section["reading"]
    html = render_index(view)
    assert "Against shap and captum" in html and "agrees to float precision" in html


@pytest.mark.parametrize("check, line", [
    (None, "No cross-check against shap and captum in these results."),
    ({"available": False, "reason": "shap <not installed>"},
     "Cross-check against shap and captum not available: shap <not installed>."),
])
def test_a_missing_or_unavailable_check_says_why(tiny_audit, check, line):
    section, view = _section(_results(tiny_audit, check))
    blocks = _after_heading(section)
    assert [b["text"] for b in blocks] == [line]
    assert "cross-checked" not in section["reading"]
    if check is not None:
        assert "shap &lt;not installed&gt;" in render_index(view)


def test_one_reference_unavailable_and_one_missing(tiny_audit):
    check = {"shap": {"available": False, "reason": "recipes too large for exact enumeration"}}
    section, _ = _section(_results(tiny_audit, check))
    texts = [b["text"] for b in _after_heading(section) if b["kind"] == "text"]
    assert texts == ["shap: not available: recipes too large for exact enumeration.",
                     "captum: not run for this report."]
    assert not [b for b in _after_heading(section) if b["kind"] in ("table", "figure")]


def test_names_with_dollars_in_the_reference_do_not_stop_the_figure(tiny_audit):
    check = _check()
    check["shap"]["reference"] = "shap $_{Exact$"
    section, _ = _section(_results(tiny_audit, check))
    assert [b for b in _after_heading(section) if b["kind"] == "figure"]


@pytest.mark.parametrize("check", [_check(), {"available": False, "reason": "off"},
                                   {"shap": {"available": False, "reason": "off"}}])
def test_the_check_is_optional_in_the_schema(tiny_audit, check):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for results in (_results(tiny_audit, check), _results(tiny_audit, None)):
        assert not list(validator.iter_errors(json.loads(json.dumps(results))))
    broken = _results(tiny_audit, {"shap": {"reference": "shap.ExactExplainer"}})
    assert list(validator.iter_errors(json.loads(json.dumps(broken))))
