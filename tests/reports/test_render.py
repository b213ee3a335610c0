"""From results to HTML: views, figures, escaping and the written folder."""

import base64
import copy
import json
import re
import xml.etree.ElementTree as ET

import pytest

from reports.render import environment, render_index, write_report
from reports.views import SECTION_IDS, build_view

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def view(tiny_audit):
    return build_view(tiny_audit.results)


def _figures(view):
    blocks = [b for s in view["sections"] for b in s["blocks"]]
    blocks += [b for p in view["pages"] for b in p["section"]["blocks"]]
    return [b for b in blocks if b["kind"] == "figure"]


def _decode(src: str) -> bytes:
    header, data = src.split(",", 1)
    assert header in ("data:image/svg+xml;base64", "data:image/png;base64")
    return base64.b64decode(data)


def test_every_section_in_order_and_available(view):
    assert [s["id"] for s in view["sections"]] == list(SECTION_IDS)
    missing = {s["id"] for s in view["sections"] if not s["available"]}
    assert missing == {"experiments"}  # no --experiments folder was given
    assert all(s["reading"] for s in view["sections"])
    assert len(view["pages"]) == 3


def test_figures_are_valid_svg_or_png(view):
    figures = _figures(view)
    assert len(figures) > 15
    for f in figures:
        raw = _decode(f["src"])
        if f["src"].startswith("data:image/png"):
            assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            ET.fromstring(raw)  # well-formed XML, so the browser can decode it
        assert f["alt"]


def test_review_pages_show_both_methods_and_flags(view, tiny_audit):
    page = view["pages"][0]
    case = tiny_audit.results["review"]["cases"][0]
    assert page["formulation_id"] == case["formulation_id"]
    assert re.fullmatch(r"review/01-[A-Za-z0-9_-]+\.html", page["href"])
    tables = [b for b in page["section"]["blocks"] if b["kind"] == "table"]
    attribution_tables = [t for t in tables if "IG" in t["columns"]]
    assert len(attribution_tables) == len(case["properties"])
    flagged = sum(bool(r["flags"]) for p in case["properties"] for r in p["ingredients"])
    assert page["n_flags"] == flagged


def _hostile(results):
    """Results with hostile names wherever one ingredient and one property appear."""
    victim = list(results["data"]["ingredient_frequency"])[1]  # listed among the most used
    prop = results["review"]["cases"][0]["properties"][0]["property"]
    text = json.dumps(results)
    text = text.replace(json.dumps(victim), json.dumps(SCRIPT))
    return json.loads(text.replace(json.dumps(prop), json.dumps(BREAKOUT)))


def test_hostile_names_are_escaped_everywhere(tiny_audit, tmp_path):
    results = _hostile(tiny_audit.results)
    files = write_report(results, tmp_path)
    assert len(files) == 1 + len(results["review"]["cases"])
    for file in files:
        html = file.read_text()
        assert "<script" not in html and "<img src=x" not in html
    index = (tmp_path / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in index
    view = build_view(results)
    for f in _figures(view):  # names drawn into figures keep the SVG well-formed
        if f["src"].startswith("data:image/svg"):
            ET.fromstring(_decode(f["src"]))


def test_unavailable_sections_say_why(tiny_audit):
    results = copy.deepcopy(tiny_audit.results)
    results["attributions"] = {"available": False, "reason": "failed: boom <b>"}
    results["review"] = {"available": False, "reason": "needs attributions"}
    results["problems"] = ["attributions: failed: boom <b>"]
    html = render_index(build_view(results))
    assert "Not available: failed: boom &lt;b&gt;." in html
    assert "Some analyses could not run" in html


def test_the_environment_escapes_and_formats():
    env = environment()
    assert env.autoescape is not False
    template = env.from_string("{{ x }} {{ y | num }} {{ z | pct }}")
    assert template.render(x="<b>", y=1234.5, z=0.5) == "&lt;b&gt; 1,234 50%"


def test_the_page_is_self_contained(tiny_audit, tmp_path):
    write_report(tiny_audit.results, tmp_path)
    html = (tmp_path / "index.html").read_text()
    for pattern in (r'src="(?!data:)', r'href="(?!#|review/|\.\./)', r"@import", r"url\(",
                    r"<link", r"http://", r"https://"):
        assert not re.search(pattern, html), pattern
    assert '<nav id="contents"' in html
    for section in SECTION_IDS:
        assert f'<section id="{section}"' in html


def test_experiment_results_are_listed(tiny_audit):
    results = copy.deepcopy(tiny_audit.results)
    results["experiments"] = {"available": True, "folder": "runs", "unreadable": [],
                              "results": {"cv.json": {"mixer": {"rmse": [1.5, 2.25]},
                                                      "note": "<b>bold</b>"}}}
    view = build_view(results)
    experiments = next(s for s in view["sections"] if s["id"] == "experiments")
    assert experiments["available"]
    rows = [[c["text"] for c in row] for b in experiments["blocks"] if b["kind"] == "table"
            for row in b["rows"]]
    assert ["mixer.rmse", "1.50, 2.25"] in rows and ["note", "<b>bold</b>"] in rows
    assert "&lt;b&gt;bold&lt;/b&gt;" in render_index(view)


def test_names_with_dollars_are_drawn_as_written(tiny_audit, tmp_path):
    """A ``$`` pair in a name would start mathtext, and an invalid one stops the drawing."""
    results = tiny_audit.results
    victim = list(results["data"]["ingredient_frequency"])[1]
    prop = results["review"]["cases"][0]["properties"][0]["property"]
    group = next(g for g in results["data"]["ingredient_groups"].values() if g)
    text = json.dumps(results)
    for old, new in ((victim, "oil a$_{b$"), (prop, "ph $^^$"), (group, "emollients $\\foo$")):
        text = text.replace(json.dumps(old), json.dumps(new))
    files = write_report(json.loads(text), tmp_path)
    assert len(files) == 1 + len(results["review"]["cases"])
    assert "oil a$_{b$" in (tmp_path / "index.html").read_text()
