"""The review pages' figure: one mark per bar with its hover title, the waterfall's bars
drawn to scale, the paired bars in Shapley order, and names as written."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from reports.figures.draw import waterfall_steps
from reports.figures.review import review_figure
from reports.palette import build_palette

NS = "{http://www.w3.org/2000/svg}"


def _marks(svg: str) -> list[tuple[str, ET.Element]]:
    root = ET.fromstring(svg)
    return [(g.find(f"{NS}title").text, g.find(f"{NS}rect")) for g in root.iter(f"{NS}g")
            if g.get("id", "").startswith("data-mark")]


def _width(rect: ET.Element) -> float:
    return float(rect.get("width"))


def test_every_bar_is_a_mark_with_its_title():
    names = ["water", "glycerin", "xanthan"]
    svg = review_figure(names, [0.1, None, -0.05], [0.4, -0.2, 0.1], 0.5, 0.8,
                        build_palette({}), title="viscosity")
    marks = _marks(svg)
    waterfall = marks[:5]  # f(no ingredient), three steps, f(recipe)
    assert [t.split(":")[0].split(" =")[0] for t, _ in waterfall] == [
        "f(no ingredient)", "water", "glycerin", "xanthan", "f(recipe)"]
    paired = [t for t, _ in marks[5:]]
    assert paired == ["water: Shapley +0.4 (model units)", "water: IG +0.1 (model units)",
                      "glycerin: Shapley -0.2 (model units)",
                      "xanthan: Shapley +0.1 (model units)",
                      "xanthan: IG -0.05 (model units)"]  # glycerin's IG is missing
    root = ET.fromstring(svg)
    assert any(g.get("id", "").startswith("legend-box") for g in root.iter(f"{NS}g"))


def test_bars_are_drawn_to_scale():
    baseline, prediction = 0.5, 0.8
    phi = [0.4, -0.2, 0.1]
    marks = _marks(review_figure(["a", "b", "c"], [0.3, 0.15, -0.05], phi, baseline,
                                 prediction, build_palette({})))
    rects = [r for _, r in marks]
    unit = _width(rects[0]) / baseline  # the first bar runs from 0 to the baseline
    assert _width(rects[4]) == pytest.approx(prediction * unit, abs=0.02)
    for k, value in enumerate(phi, start=1):
        assert _width(rects[k]) == pytest.approx(abs(value) * unit, abs=0.02)
    # each step starts where the previous one ended
    x = [float(r.get("x")) for r in rects]
    assert x[2] == pytest.approx(x[1] + _width(rects[1]) - _width(rects[2]), abs=0.02)
    paired = rects[5:]
    assert _width(paired[0]) / _width(paired[1]) == pytest.approx(0.4 / 0.3, rel=1e-3)


def test_names_are_drawn_as_written_and_cut():
    hostile = "<script>alert(1)</script> & $x_{1}$"
    svg = review_figure([hostile, "b" * 40], [0.1, 0.2], [0.5, -0.25], 0.25, 0.5,
                        build_palette({}), title="F1 $_{x$")
    assert "<script>" not in svg
    texts = [e.text for e in ET.fromstring(svg).iter(f"{NS}text")]
    assert "F1 $_{x$" in texts
    assert any(t.startswith("<script>alert(1)</script> & $") and t.endswith("\u2026")
               for t in texts)
    assert "b" * 29 + "\u2026" in texts


def test_paired_labels_follow_shapley_order_and_colours():
    names = ["a", "b", "c"]
    svg = review_figure(names, [0.0, 0.0, 0.0], [0.1, -0.5, 0.3], 0.0, -0.1,
                        build_palette({}), colours=["#111111", "#222222", "#333333"])
    texts = [(e.text, e.get("style")) for e in ET.fromstring(svg).iter(f"{NS}text")]
    paired = [(t, s) for t, s in texts if t in names][3:]  # after the waterfall's labels
    assert [t for t, _ in paired] == ["b", "c", "a"]
    assert [s.rsplit("fill: ", 1)[1] for _, s in paired] == ["#222222", "#333333", "#111111"]


def test_past_top_the_rest_is_pooled():
    values = np.linspace(1.0, 0.1, 12)
    names = [f"i{k}" for k in range(12)]
    marks = _marks(review_figure(names, list(values), list(values), 0.0, values.sum(),
                                 build_palette({}), top=10))
    titles = [t for t, _ in marks]
    assert titles[11].startswith("2 others: +0.282")  # 0.1818... + 0.1
    assert len(marks) == 13 + 20


def test_waterfall_steps_chain_from_baseline_to_prediction():
    steps = waterfall_steps(["a", "b", "c"], np.array([0.2, -0.5, 0.1]), 1.0, 0.8, top=2)
    assert steps.labels == ["f(no ingredient)", "b", "a", "1 others", "f(recipe)"]
    assert steps.left == pytest.approx([0.0, 1.0, 0.5, 0.7, 0.0])
    assert steps.width == pytest.approx([1.0, -0.5, 0.2, 0.1, 0.8])
    assert steps.colour[1] != steps.colour[2]  # lowering blue, raising red
