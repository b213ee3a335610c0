"""The report's stability marks, stability tables and the note on opposite signs of Integrated
Gradients and Shapley values, from data built by the analysers on hand-made attributions.

Figures are replaced by empty blocks here (drawing them is tested elsewhere and costs seconds
per view); the attribution section is otherwise built and rendered as the report does."""

import copy

import numpy as np
import pytest
import torch

import reports.views.explain as explain_view
from reports.palette import build_palette
from reports.render import environment
from xai.absence import Absence
from xai.attribution.results import Attribution
from xai.cases import Cases
from xai.checks.stability import member_stability, sign_disagreement
from xai.runs.audit import jsonable

SCRIPT = "<script>alert(1)</script>"
NOTE = "they answer different questions"


def attribution(prop, names, values, method="shapley_exact", settings=None):
    values = np.asarray(values, dtype=float)
    n, width = values.shape
    cases = Cases(
        formulation_ids=tuple(f"F{i}" for i in range(n)), properties=(prop,) * n,
        ingredients=(tuple(names),) * n, raw_amounts=(np.ones(width),) * n,
        property_ids=torch.zeros(n, dtype=torch.long), ids=torch.ones(n, width, dtype=torch.long),
        amounts=torch.ones(n, width), mask=torch.ones(n, width, dtype=torch.bool),
        balance_slot=torch.full((n,), -1), measured=np.full(n, np.nan))
    return Attribution(method=method, absence=Absence.balance("water"),
                       formulation_ids=cases.formulation_ids, properties=cases.properties,
                       ingredients=cases.ingredients, raw_amounts=cases.raw_amounts,
                       values=values, prediction=np.zeros(n), baseline=np.zeros(n),
                       settings=settings or {})


def disagreement(opposite: int, n: int = 6) -> dict:
    """IG against Shapley on ``n`` recipes holding SCRIPT, opposite in ``opposite`` of them."""
    shap = np.ones((n, 2))
    ig = shap.copy()
    ig[:opposite, 0] = -1.0
    ig_baseline = {"baseline": "every player's amount moved into the balance ingredient"}
    return jsonable(sign_disagreement(attribution("ph", [SCRIPT, "B"], ig, "ig", ig_baseline),
                                      attribution("ph", [SCRIPT, "B"], shap),
                                      names=("ig", "shapley")).to_dict())


@pytest.fixture(scope="module")
def leading(tiny_audit):
    """A property and its leading ingredient in the attribution table of the tiny audit."""
    prop, e = sorted(tiny_audit.results["attributions"]["importance_original_units"].items())[0]
    return prop, e["ingredients"][0]


def stability(prop, name, agree: bool) -> dict:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(8, 2))
    other = values if agree else -values
    section = {"n_members": 2, "n_cases": 8, "absence": "balance", "methods": {}}
    for method in ("shapley", "ig"):
        section["methods"][method] = member_stability(
            [attribution(prop, [name, SCRIPT], values),
             attribution(prop, [name, SCRIPT], other)]).to_dict()
    return jsonable(section)


class _NoFigures:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    monkeypatch.setattr(explain_view, "figs", _NoFigures())
    monkeypatch.setattr(explain_view, "figure",
                        lambda *args, **kwargs: {"kind": "text", "text": "", "cls": ""})


def _section(results):
    data = results["data"]
    palette = build_palette({k: v for k, v in data["ingredient_groups"].items() if v},
                            data.get("ingredient_names") or {})
    return explain_view.attributions_section(results["attributions"], palette,
                                             data.get("amount_unit") or "",
                                             data.get("property_units") or {},
                                             results.get("stability"))


def _html(results) -> str:
    template = environment().from_string(
        '{% from "_blocks.html" import render_section %}{{ render_section(s) }}')
    return template.render(s=_section(results))


def _table(section, caption):
    return next(b for b in section["blocks"] if b["kind"] == "table" and b["caption"] == caption)


def test_the_note_appears_only_past_half_of_the_recipes(tiny_audit):
    results = copy.deepcopy(tiny_audit.results)
    results["attributions"]["sign_disagreement"] = disagreement(opposite=4)
    html = _html(results)
    assert NOTE in html and "67%" in html
    assert "Ingredients whose Integrated Gradients and Shapley values mostly disagree" in html
    assert "every player&#39;s amount moved into the balance ingredient" in html  # IG's baseline
    assert "its token is removed and its amount given to the balance ingredient" in html
    assert "replace it by the balance ingredient" in html  # which to read, under balance
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and SCRIPT not in html
    for opposite in (3, 0):  # 50 % is not more than half
        results["attributions"]["sign_disagreement"] = disagreement(opposite=opposite)
        html = _html(results)
        assert NOTE not in html and "For no ingredient with at least 5 counted recipes" in html


def test_stable_attributions_are_marked_in_the_attribution_table(tiny_audit, leading):
    prop, name = leading
    results = copy.deepcopy(tiny_audit.results)
    for agree, mark in ((True, "stable"), (False, "unstable")):
        results["stability"] = stability(prop, name, agree)
        section = _section(results)
        table = _table(section, "Leading ingredients' mean effect in original units")
        assert table["columns"][-1] == "across ensemble members"
        row = next(r for r in table["rows"] if r[0]["text"] == prop and name in r[1]["text"])
        assert row[-1]["text"] == mark
        own = _table(section, f"Stability of the attributions of {prop}")
        assert own["columns"][2:5] == ["Shapley rank corr.", "Shapley sign flips",
                                       "Shapley verdict"]
        first = own["rows"][0]
        assert name in first[0]["text"] and first[4]["text"] == mark
        assert first[2]["text"] == ("1.00" if agree else "-1.00")
        assert first[3]["text"] == ("0%" if agree else "100%")
    html = _html(results)
    assert SCRIPT not in html


def test_without_an_ensemble_the_report_says_why(tiny_audit):
    section = _section(tiny_audit.results)
    texts = [b["text"] for b in section["blocks"] if b["kind"] == "text"]
    assert any(t.startswith("Not available: the model is not a cross-fitted ensemble")
               for t in texts)
    table = _table(section, "Leading ingredients' mean effect in original units")
    assert {r[-1]["text"] for r in table["rows"]} == {"\u2013"}


def test_review_pages_mark_each_attribution_of_an_ensemble(tiny_audit):
    from reports.views.review_pages import review_pages

    results = copy.deepcopy(tiny_audit.results)
    case = results["review"]["cases"][0]
    prop = case["properties"][0]["property"]
    name = next(r["ingredient"] for r in case["properties"][0]["ingredients"]
                if r["shapley"] is not None)
    palette = build_palette({}, {})
    plain = review_pages(results["review"], palette)[0]["section"]
    assert not any("Shapley across ensemble members" in b.get("columns", [])
                   for b in plain["blocks"])
    for agree, mark in ((True, "stable"), (False, "unstable")):
        page = review_pages(results["review"], palette,
                            stability=stability(prop, name, agree))[0]["section"]
        table = next(b for b in page["blocks"] if b["kind"] == "table"
                     and "Shapley across ensemble members" in b["columns"])
        column = table["columns"].index("Shapley across ensemble members")
        row = next(r for r in table["rows"] if r[0]["text"] == name)
        assert row[column]["text"] == mark
