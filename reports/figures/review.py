"""The review pages' figure, one per formulation and property: a Shapley waterfall beside
Integrated Gradients and Shapley values as paired bars.

A report draws dozens of these, so they are written as SVG directly
(:mod:`reports.figures.svg`) rather than through matplotlib, in the layout and style the
matplotlib figures use; the waterfall's bars come from the same
:func:`reports.figures.draw.waterfall_steps` as the notebook plot's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reports.figures.base import METHOD_COLOURS, NEUTRAL, WIDE, cut
from reports.figures.draw import waterfall_steps
from reports.figures.svg import MARGIN, Scale, Svg, data_range, text_width
from reports.palette import Palette

UNITS = "model units"
LABEL_SIZE = 7.5  # pt, the ingredient labels
TITLE_SIZE = 8  # pt, the panel titles
# the panels' place in the figure, as fractions of its width (left and right edges, the gap
# between panels as a share of a panel's width) and in inches (bottom and top margins)
LEFT, RIGHT, GAP = 0.2, 0.98, 0.62
BOTTOM_IN, TOP_IN, TOP_TITLED_IN = 0.55, 0.65, 0.8


def review_figure(names: Sequence[str], ig: Sequence[float | None],
                  shapley: Sequence[float | None], baseline: float, prediction: float,
                  palette: Palette, *, top: int = 10, title: str = "",
                  colours: Sequence[str] | None = None) -> str:
    """The figure as inline SVG markup. Left: a waterfall from f(no ingredient) to f(recipe)
    through the Shapley values, largest first, the rest pooled. Right: Integrated Gradients and
    Shapley values side by side for the same ingredients, the legend above the bars.
    ``names`` are the labels drawn; ``colours`` (one per name) colour the right panel's labels
    (default: the palette's colour of each name). Every bar has a hover title."""
    phi = np.array([np.nan if v is None else v for v in shapley], dtype=float)
    grad = np.array([np.nan if v is None else v for v in ig], dtype=float)
    colours = list(colours) if colours is not None else [palette.colour(n) for n in names]
    players = np.flatnonzero(np.isfinite(phi))
    order = players[np.argsort(-np.abs(phi[players]), kind="stable")]
    shown = order[:top]
    height_in = max(2.6, 0.26 * (len(shown) + 2) + 1.2)
    width, height = WIDE * 72, height_in * 72
    panel = (RIGHT - LEFT) * width / (2 + GAP)
    plot_top = (TOP_TITLED_IN if title else TOP_IN) * 72
    plot_bottom = height - BOTTOM_IN * 72
    svg = Svg(width, height)
    svg.rect(0, 0, width, height, "#ffffff")
    if title:
        svg.text(width / 2, 0.26 * 72, title, 9, anchor="middle")

    x0 = LEFT * width
    steps = waterfall_steps([names[i] for i in players], phi[players], baseline, prediction,
                            top=top, width=30)
    ends = [*steps.left, *(a + b for a, b in zip(steps.left, steps.width, strict=True)), 0.0]
    scale = Scale(*data_range(ends, sticky=steps.left), x0, x0 + panel)
    rows, pitch = _rows(len(steps.labels), plot_top, plot_bottom)
    for k, y in enumerate(rows):
        start, step = steps.left[k], steps.width[k]
        end = start + step
        hover = (f"{steps.names[k]} = {step:.4g}" if k in (0, len(rows) - 1) else
                 f"{steps.names[k]}: {step:+.3g} ({start:.4g} \u2192 {end:.4g})")
        svg.rect(scale(start), y - 0.3 * pitch, scale(end) - scale(start), 0.6 * pitch,
                 steps.colour[k], parent=svg.mark(hover))
    _frame(svg, scale, plot_top, plot_bottom, f"prediction ({UNITS})")
    svg.y_labels(x0, rows, steps.labels, None, LABEL_SIZE)
    svg.text(x0 + panel / 2, plot_top - 6, "Shapley waterfall", TITLE_SIZE, anchor="middle")

    x1 = x0 + panel * (1 + GAP)
    scale = Scale(*data_range([0.0, *grad[shown], *phi[shown]], sticky=[0.0]), x1,
                  x1 + panel)
    rows, pitch = _rows(len(shown), plot_top, plot_bottom)
    for i, y in zip(shown, rows, strict=True):
        for method, values, offset in (("Shapley", phi, -0.2), ("IG", grad, 0.2)):
            value = values[i]
            if not np.isfinite(value):
                continue
            colour = METHOD_COLOURS["shapley" if method == "Shapley" else "ig"]
            svg.rect(scale(0.0), y + (offset - 0.2) * pitch, scale(value) - scale(0.0),
                     0.4 * pitch, colour,
                     parent=svg.mark(f"{names[i]}: {method} {value:+.3g} ({UNITS})"))
    _frame(svg, scale, plot_top, plot_bottom, f"attribution ({UNITS})")
    svg.y_labels(x1, rows, [cut(names[i], 30) for i in shown], [colours[i] for i in shown],
                 LABEL_SIZE)
    svg.text(x1, plot_top - 6, "IG and Shapley", TITLE_SIZE)
    _legend(svg, x1 + panel, plot_top - 4)
    return svg.markup()


def _rows(n: int, top: float, bottom: float) -> tuple[list[float], float]:
    """Centres of ``n`` rows from ``top`` to ``bottom`` with matplotlib's data margins, and
    the distance between them."""
    pitch = (bottom - top) / (max(n, 1) * (1 + 2 * MARGIN))
    first = top + pitch * (MARGIN * n + 0.5)
    return [first + k * pitch for k in range(n)], pitch


def _frame(svg: Svg, scale: Scale, top: float, bottom: float, label: str) -> None:
    """The panel's zero line, left spine and bottom axis."""
    if scale.lo <= 0.0 <= scale.hi:
        svg.line(scale(0.0), top, scale(0.0), bottom, colour=NEUTRAL, width=0.5)
    svg.line(scale.start, top, scale.start, bottom)
    svg.x_axis(scale, bottom, label)


def _legend(svg: Svg, right: float, bottom: float) -> None:
    """IG and Shapley swatches in one row, right-aligned, their lower edge at ``bottom``."""
    entries = [("IG", METHOD_COLOURS["ig"]), ("Shapley", METHOD_COLOURS["shapley"])]
    swatch, gap, size = 2.0 * LABEL_SIZE, 0.8 * LABEL_SIZE, LABEL_SIZE
    widths = [swatch + gap + text_width(name, size) for name, _ in entries]
    x = right - sum(widths) - gap * (len(entries) - 1)
    group = svg.legend()
    y = bottom - 0.7 * size
    for (name, colour), w in zip(entries, widths, strict=True):
        svg.rect(x, y - 0.35 * size, swatch, 0.7 * size, colour, parent=group)
        svg.text(x + swatch + gap, y, name, size, middle=True, parent=group)
        x += w + gap
