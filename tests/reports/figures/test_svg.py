"""The directly written SVG charts against matplotlib: the same ticks, tick labels and
autoscaled ranges on the same data, and every string escaped."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports.figures.svg import Scale, Svg, data_range, tick_labels

AXIS_PT = 214.35  # the review figure's panel width


def _axes(lo: float, hi: float):
    """A matplotlib Axes AXIS_PT points wide showing [lo, hi], drawn."""
    fig = Figure(figsize=(AXIS_PT / 72 / 0.5, 2), dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.25, 0.2, 0.5, 0.7))
    ax.tick_params(labelsize=8)
    ax.set_xlim(lo, hi)
    fig.canvas.draw()
    return ax


@pytest.mark.parametrize("lo,hi", [(-1.8, 0.0), (-0.041, 0.074), (0.0, 0.257), (-1.6, 1.45),
                                   (2.0, 9.0), (-0.0032, -0.0011), (0.0, 1.05)])
def test_ticks_and_labels_are_matplotlibs(lo, hi):
    ax = _axes(lo, hi)
    shown = [(t, label.get_text()) for t, label in zip(ax.get_xticks(), ax.get_xticklabels(),
                                                        strict=True) if lo <= t <= hi]
    svg = Svg(720, 200)
    scale = Scale(lo, hi, 100, 100 + AXIS_PT)
    svg.x_axis(scale, 150, "x")
    texts = [e.text for e in svg.root.iter("{http://www.w3.org/2000/svg}text")][:-1]
    assert np.allclose([t for t, _ in shown], scale.ticks(int(AXIS_PT // 24)))
    assert texts == [label for _, label in shown]


def test_tick_labels_use_the_fewest_exact_decimals():
    assert tick_labels([-1.75, -1.5, -1.25]) == ["\u22121.75", "\u22121.50", "\u22121.25"]
    assert tick_labels([0.0, 0.5, 1.0]) == ["0.0", "0.5", "1.0"]
    assert tick_labels([-1.0, 0.0, 1.0]) == ["\u22121", "0", "1"]


@pytest.mark.parametrize("lefts,widths", [([0.0], [1.0]), ([0.0, 0.0], [-0.5, 2.0]),
                                          ([0.0, 0.25, 0.75, 0.0], [0.25, 0.5, -0.2, 0.55]),
                                          ([0.0, 0.0], [3.0, 3.0])])
def test_autoscaled_range_is_matplotlibs_for_bars(lefts, widths):
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, (left, width) in enumerate(zip(lefts, widths, strict=True)):
        ax.barh(k, width, left=left)
    ends = [*lefts, *(a + b for a, b in zip(lefts, widths, strict=True)), 0.0]
    assert np.allclose(ax.get_xlim(), data_range(ends, sticky=lefts))


def test_range_without_finite_values_or_spread():
    assert data_range([np.nan]) == (-1.0, 1.0)
    assert data_range([2.0, 2.0]) == (1.0, 3.0)


def test_strings_are_escaped_and_kept_verbatim():
    svg = Svg(100, 50)
    hostile = "<script>alert(1)</script> & $x$ \"q\""
    svg.text(1, 1, hostile, 8)
    svg.rect(0, 0, 5, 5, "#000000", parent=svg.mark(hostile))
    markup = svg.markup()
    assert "<script>" not in markup
    root = ET.fromstring(markup)
    ns = "{http://www.w3.org/2000/svg}"
    assert [e.text for e in root.iter(f"{ns}text")] == [hostile]
    assert [e.text for e in root.iter(f"{ns}title")] == [hostile]
    assert root.get("class") == "figure-svg"


def test_a_negative_width_runs_leftwards():
    svg = Svg(100, 50)
    svg.rect(40, 0, -10, 5, "#000000")
    rect = next(svg.root.iter("{http://www.w3.org/2000/svg}rect"))
    assert (rect.get("x"), rect.get("width")) == ("30", "10")
