"""Charts written as SVG directly, for figures drawn dozens of times per report (the review
pages' waterfalls): the look of the matplotlib figures (fonts, sizes, line widths, ids, hover
titles) in about a millisecond each instead of a quarter of a second.

Coordinates are points, as in matplotlib's SVG output (``width="720pt"``, a 720-unit
``viewBox``), so text sizes read the same on the page. Tick positions come from matplotlib's
own locator (:class:`matplotlib.ticker.MaxNLocator` with the steps of its default
``AutoLocator``). Every string enters the tree as element text or an attribute value through
:mod:`xml.etree`, which escapes it; text is never parsed as mathtext.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import MaxNLocator

from reports.figures.base import DATA_GID, LEGEND_GID, SVG_NS

FONT = ("'DejaVu Sans', 'Bitstream Vera Sans', 'Computer Modern Sans Serif', 'Lucida Grande', "
        "'Verdana', 'Geneva', 'Lucid', 'Arial', 'Helvetica', 'Avant Garde', sans-serif")
INK = "#000000"
LINE = 0.8  # pt: matplotlib's axes and tick line width
TICK = 3.5  # pt: matplotlib's major tick length, and the pad between tick and label
MARGIN = 0.05  # matplotlib's default data margins
CHAR_WIDTH = 0.6  # average advance of DejaVu Sans, in font sizes (for legend layout only)


@dataclass(frozen=True)
class Scale:
    """A linear map from data values ``[lo, hi]`` to page coordinates ``[start, end]``."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self, nbins: int) -> list[float]:
        """matplotlib's tick positions for this range with at most ``nbins`` intervals, those
        inside it."""
        locator = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10])
        lo, hi = sorted((self.lo, self.hi))
        span = hi - lo
        return [float(t) for t in locator.tick_values(lo, hi)
                if lo - 1e-9 * span <= t <= hi + 1e-9 * span]


def data_range(values: Sequence[float], sticky: Sequence[float] = ()) -> tuple[float, float]:
    """The finite ``values``' range widened by matplotlib's default 5 % margins, as matplotlib
    autoscales: a margin stops at a ``sticky`` value it would cross (a bar's base, so bars sit
    on the axis); one unit either side when the values are all equal or none are finite."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        return lo - 1.0, hi + 1.0
    pad = MARGIN * (hi - lo)
    below = [s for s in sticky if lo - pad < s <= lo]
    above = [s for s in sticky if hi <= s < hi + pad]
    return max([lo - pad, *below]), min([hi + pad, *above])


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Tick values with the fewest decimals that tell them apart exactly, a true minus sign
    as matplotlib writes it."""
    span = max((abs(t) for t in ticks), default=1.0) or 1.0
    decimals = next((d for d in range(12)
                     if all(abs(round(t, d) - t) <= 1e-9 * span for t in ticks)), 12)
    return [f"{0.0 if abs(t) < 1e-12 * span else t:.{decimals}f}".replace("-", "\u2212")
            for t in ticks]


class Svg:
    """An SVG document of ``width`` x ``height`` points; shapes are added to it or to a group.

    ``mark`` ids are numbered ``data-mark-N`` and legends ``legend-box-N`` like the matplotlib
    figures' (:func:`reports.figures.base.to_svg_markup`), so the page's figure checks read both.
    """

    def __init__(self, width: float, height: float) -> None:
        ET.register_namespace("", SVG_NS)
        self.root = ET.Element(f"{{{SVG_NS}}}svg", {
            "width": f"{width:g}pt", "height": f"{height:g}pt",
            "viewBox": f"0 0 {width:g} {height:g}", "version": "1.1",
            "class": "figure-svg", "role": "img"})
        self._ids = 0

    def _next(self, prefix: str) -> str:
        name = f"{prefix}-{self._ids}"
        self._ids += 1
        return name

    def mark(self, title: str | None = None) -> ET.Element:
        """A group for one data mark, with an optional hover ``title``."""
        group = ET.SubElement(self.root, f"{{{SVG_NS}}}g", {"id": self._next(DATA_GID)})
        if title:
            ET.SubElement(group, f"{{{SVG_NS}}}title").text = title
        return group

    def legend(self) -> ET.Element:
        return ET.SubElement(self.root, f"{{{SVG_NS}}}g", {"id": self._next(LEGEND_GID)})

    def rect(self, x: float, y: float, width: float, height: float, fill: str,
             parent: ET.Element | None = None) -> None:
        """A rectangle from ``x`` over a signed ``width`` (negative: leftwards)."""
        left = min(x, x + width)
        ET.SubElement(self.root if parent is None else parent, f"{{{SVG_NS}}}rect", {
            "x": _n(left), "y": _n(y), "width": _n(abs(width)), "height": _n(height),
            "style": f"fill: {fill}"})

    def line(self, x1: float, y1: float, x2: float, y2: float, *, colour: str = INK,
             width: float = LINE) -> None:
        ET.SubElement(self.root, f"{{{SVG_NS}}}path", {
            "d": f"M {_n(x1)} {_n(y1)} L {_n(x2)} {_n(y2)}",
            "style": f"fill: none; stroke: {colour}; stroke-width: {width:g}; "
                     "stroke-linecap: square"})

    def text(self, x: float, y: float, text: str, size: float, *, anchor: str = "start",
             colour: str = INK, middle: bool = False, parent: ET.Element | None = None) -> None:
        """``text`` with its baseline at ``y`` (``middle``: centred on ``y`` instead)."""
        baseline = y + 0.36 * size if middle else y
        element = ET.SubElement(self.root if parent is None else parent, f"{{{SVG_NS}}}text", {
            "x": _n(x), "y": _n(baseline),
            "style": f"font-size: {size:g}px; font-family: {FONT}; text-anchor: {anchor}"
                     + ("" if colour == INK else f"; fill: {colour}")})
        element.text = text

    def x_axis(self, scale: Scale, y: float, label: str, *, tick_size: float = 8,
               label_size: float = 9) -> None:
        """A bottom spine at ``y`` from ``scale.start`` to ``scale.end``, outward ticks with
        their values, and ``label`` under them. As many ticks as matplotlib's ``nbins="auto"``
        allows: one per three label heights of axis length."""
        self.line(scale.start, y, scale.end, y)
        ticks = scale.ticks(max(1, math.floor(abs(scale.end - scale.start) / (3 * tick_size))))
        for tick, text in zip(ticks, tick_labels(ticks), strict=True):
            x = scale(tick)
            self.line(x, y, x, y + TICK)
            self.text(x, y + 2 * TICK + 0.75 * tick_size, text, tick_size, anchor="middle")
        self.text((scale.start + scale.end) / 2, y + 2 * TICK + 1.75 * tick_size + 4,
                  label, label_size, anchor="middle")

    def y_labels(self, x: float, rows: Sequence[float], labels: Sequence[str],
                 colours: Sequence[str] | None, size: float) -> None:
        """A left spine's outward ticks at ``rows`` with right-aligned ``labels``."""
        for k, (y, text) in enumerate(zip(rows, labels, strict=True)):
            self.line(x - TICK, y, x, y)
            self.text(x - 2 * TICK, y, text, size, anchor="end", middle=True,
                      colour=colours[k] if colours else INK)

    def markup(self) -> str:
        return ET.tostring(self.root, encoding="unicode")


def text_width(text: str, size: float) -> float:
    """An estimate of ``text``'s width in points (for placing legends, never for clipping)."""
    return CHAR_WIDTH * size * len(text)


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"
