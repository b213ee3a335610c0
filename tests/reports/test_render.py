"""From results to HTML: views, figures, escaping and the written folder."""

import base64
import copy
import json
import re
import xml.etree.ElementTree as ET

import pytest

from reports.render import environment, render_index, table_script, write_report
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
        if f["src"]:
            assert _decode(f["src"])[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            svg = ET.fromstring(str(f["svg"]))  # well-formed XML, inlined in the page
            assert svg.tag.endswith("svg")
            assert any(e.get("id", "").startswith("data-mark") for e in svg.iter())
        assert f["alt"]


def test_review_pages_show_both_methods_and_flags(view, tiny_audit):
    page = view["pages"][0]
    case = tiny_audit.results["review"]["cases"][0]
    assert page["formulation_id"] == case["formulation_id"]
    assert re.fullmatch(r"review/01-[A-Za-z0-9_-]+\.html", page["href"])
    tables = [b for b in page["section"]["blocks"] if b["kind"] == "table"]
    attribution_tables = [t for t in tables if "IG (model units)" in t["columns"]]
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
    script = str(table_script()[0])
    for file in files:
        html = file.read_text()
        assert html.count("<script") == 1 and f"<script>{script}</script>" in html
        assert "<script>alert" not in html and "<img src=x" not in html
    index = (tmp_path / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in index
    view = build_view(results)
    for f in _figures(view):  # names drawn into figures keep the SVG well-formed
        if f["svg"]:
            ET.fromstring(str(f["svg"]))


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
    for pattern in (r'src="(?!data:)', r'href="(?!#|review/|\.\./|data:)', r"@import",
                    r"url\((?!#)",
                    r"<link", r"http://(?!www\.w3\.org/)", r"https://"):  # XML namespace
        # names of the inline SVGs are identifiers, never fetched
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


def test_verdict_box_units_and_original_units_on_the_page(tiny_audit, tmp_path):
    results = tiny_audit.results
    assert results["data"]["amount_unit"] == "wt%"
    units = results["data"]["property_units"]
    assert units["viscosity_4pin_10rpm"] == "mPa\u00b7s" and units["ph"] == "pH"
    write_report(results, tmp_path)
    html = (tmp_path / "index.html").read_text()
    box = html.index('<aside id="verdict"')
    assert box < html.index('<nav id="contents"')  # the verdict comes first
    verdicts = results["verdicts"]["properties"]
    for prop, v in verdicts.items():
        assert f"<td>{prop}</td>" in html[box:html.index("</aside>")]
        assert v["verdict"] in html[box:html.index("</aside>")]
    assert "Most important caveats" in html and "How the verdicts are decided" in html
    assert "mPa\u00b7s" in html and "amount unit" in html and "wt%" in html
    page = sorted((tmp_path / "review").glob("*.html"))[0].read_text()
    assert "amount (wt%)" in page
    case = results["review"]["cases"][0]
    log_props = [p for p in case["properties"] if p["conversion"]["kind"] == "factor"]
    plain = [p for p in case["properties"] if p["conversion"]["kind"] == "additive"]
    if log_props:
        assert "Shapley as a factor" in page and "\u00d7" in page
    if plain:
        unit = units[plain[0]["property"]]
        assert f"Shapley in {unit}" in page
    assert "f(IG baseline)" in page and "explain different differences" in page


def test_readable_names_beside_codes(tiny_audit):
    names = tiny_audit.results["data"]["ingredient_names"]
    code, name = next(iter(names.items()))
    assert name and name != code
    html = render_index(build_view(tiny_audit.results))
    frequent = list(tiny_audit.results["data"]["ingredient_frequency"])[0]
    assert f"{names[frequent]} ({frequent})" in html


def test_small_samples_are_marked_with_their_count(tiny_audit):
    view = build_view(tiny_audit.results)
    attributions = next(s for s in view["sections"] if s["id"] == "attributions")
    cells = [c for b in attributions["blocks"] if b["kind"] == "table" for row in b["rows"]
             for c in row]
    small = [c for c in cells if "small-n" in c["cls"]]
    assert small and all("small" in c["text"] for c in small)
    assert all(c["title"] and "fewer than" in c["title"] for c in small)


def test_substitution_change_given_as_interval_is_shown():
    from reports.views.represent import _change

    assert _change([-381.5, -1116.5, -2.4], "mPa\u00b7s") == "-382 [-1,116, -2.40] mPa\u00b7s"
    assert _change(None) == "\u2013"
    assert _change(0.5) == "+0.500"


def test_hypothesis_evidence_as_tables_with_a_json_download(tiny_audit):
    view = build_view(tiny_audit.results)
    hypotheses = next(s for s in view["sections"] if s["id"] == "hypotheses")
    kinds = [b["kind"] for b in hypotheses["blocks"]]
    assert "details" not in kinds and "pre" not in kinds
    downloads = [b for b in hypotheses["blocks"] if b["kind"] == "download"]
    assert len(downloads) == len(tiny_audit.results["hypotheses"]["verdicts"])
    assert all(b["href"].startswith("data:application/json") for b in downloads)
    assert sum(k == "table" for k in kinds) > len(downloads)


def test_the_small_sample_threshold_is_the_rules():
    from reports.views import common
    from xai.checks import fitness

    assert common.SMALL_SAMPLE == fitness.SMALL_SAMPLE
