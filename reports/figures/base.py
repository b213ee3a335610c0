"""Figures without pyplot: creation at a laptop-friendly size, and serialisation to data URIs.

Every plot function in :mod:`reports.figures` builds a :class:`matplotlib.figure.Figure` directly
(never pyplot's current figure) on an explicit Agg canvas, so figures are independent objects that
the renderer turns into ``data:`` URIs, and importing or drawing never changes the process's
matplotlib backend. SVG keeps text sharp and small for line and bar charts; dense scatters and
heatmaps are rasterised inside the SVG or written as PNG. Text in SVG output is escaped by
matplotlib, and the page shows figures through ``<img>``, where an SVG can never run script.

Names are user data: every name drawn passes through :func:`plain` (or :func:`shorten`, which
calls it), so a ``$`` in a name is shown as itself instead of starting mathtext.
"""

from __future__ import annotations

import base64
import io

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

WIDTH = 7.5  # inches: 720 px on the page, comfortable on a laptop screen
WIDE = 10.0  # inches: 960 px, the page's full width, for grids of small panels
HEIGHT = 3.6
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "none",  # keep text as text: smaller files, selectable labels
    "svg.hashsalt": "mixer-xai",  # deterministic element ids
}
NEUTRAL = "#4c566a"
POSITIVE = "#c0392b"
NEGATIVE = "#2471a3"
METHOD_COLOURS = {"ig": "#8e44ad", "shapley": "#16a085"}


def new_figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    """An empty figure of ``width`` x ``height`` inches with a constrained layout, on an Agg
    canvas of its own (no pyplot, no backend switch)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_svg_uri(fig: Figure) -> str:
    """The figure as a base64 ``data:image/svg+xml`` URI; the figure is cleared afterwards."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    fig.clear()
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_png_uri(fig: Figure, *, dpi: int = 110) -> str:
    """The figure as a base64 ``data:image/png`` URI; the figure is cleared afterwards."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    fig.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def styled(build):
    """Decorator: run a plot function under the package's matplotlib style."""

    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return build(*args, **kwargs)

    wrapper.__name__ = build.__name__
    wrapper.__doc__ = build.__doc__
    return wrapper


def plain(text) -> str:
    """``text`` as matplotlib should show it, character for character: every ``$`` escaped, so a
    name never starts mathtext (a name like ``a$_b$`` would otherwise stop the drawing)."""
    return str(text).replace("$", r"\$")


def shorten(label, width: int = 22) -> str:
    """A label cut to ``width`` characters with an ellipsis, for crowded axes, then made
    :func:`plain`."""
    label = str(label)
    return plain(label if len(label) <= width else label[: width - 1] + "\u2026")
