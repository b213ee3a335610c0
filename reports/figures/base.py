"""Figures without pyplot: creation at a laptop-friendly size, and serialisation to data URIs.

Every plot function in :mod:`reports.figures` builds a :class:`matplotlib.figure.Figure` directly
(never pyplot's current figure), so figures are independent objects that the renderer turns into
``data:`` URIs. SVG keeps text sharp and small for line and bar charts; dense scatters and
heatmaps are rasterised inside the SVG or written as PNG. Text in SVG output is escaped by
matplotlib, and the page shows figures through ``<img>``, where an SVG can never run script.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (the backend is chosen first)
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    Formatter,
    LogFormatter,
    NullFormatter,
    ScalarFormatter,
)

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
NUMERIC_FORMATTERS = (ScalarFormatter, LogFormatter, NullFormatter)  # may emit mathtext
NEUTRAL = "#4c566a"
POSITIVE = "#c0392b"
NEGATIVE = "#2471a3"
METHOD_COLOURS = {"ig": "#8e44ad", "shapley": "#16a085"}


def new_figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    """An empty figure of ``width`` x ``height`` inches with a constrained layout."""
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def literal_text(fig: Figure) -> Figure:
    """Show every user string in ``fig`` as written: no mathtext on ingredient or property
    names (a ``$`` in a name would otherwise be parsed as TeX, or fail to parse).

    Titles, labels, legends and annotations get ``parse_math=False`` (no figure here asks for
    mathtext); tick labels from label formatters (fixed labels, categories) have their ``$``
    escaped, while numeric formatters (a log axis's 10^k) keep their mathtext.
    """
    numeric = set()  # tick labels and offsets: their formatters' text, drawn later
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            numeric.add(axis.offsetText)
            for tick in (*axis.get_major_ticks(), *axis.get_minor_ticks()):
                numeric.update((tick.label1, tick.label2))
    for text in fig.findobj(Text):
        if text not in numeric:
            text.set_parse_math(False)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which in ("major", "minor"):
                formatter = getattr(axis, f"get_{which}_formatter")()
                if not isinstance(formatter, (*NUMERIC_FORMATTERS, _Escaped)):
                    getattr(axis, f"set_{which}_formatter")(_Escaped(formatter))
    return fig


class _Escaped(Formatter):
    """A label formatter (fixed labels, categories) whose labels show their ``$``."""

    def __init__(self, inner: Formatter) -> None:
        self.inner = inner

    def __call__(self, x, pos=None) -> str:
        return escape_dollars(self.inner(x, pos))

    def format_ticks(self, values) -> list[str]:
        return [escape_dollars(s) for s in self.inner.format_ticks(values)]


def escape_dollars(label: object) -> str:
    """``label`` with each ``$`` escaped, so matplotlib shows it instead of starting TeX."""
    return str(label).replace("$", r"\$")


def to_svg_uri(fig: Figure) -> str:
    """The figure as a base64 ``data:image/svg+xml`` URI; the figure is cleared afterwards."""
    literal_text(fig)
    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    fig.clear()
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_png_uri(fig: Figure, *, dpi: int = 110) -> str:
    """The figure as a base64 ``data:image/png`` URI; the figure is cleared afterwards."""
    literal_text(fig)
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


def shorten(label: str, width: int = 22) -> str:
    """A label cut to ``width`` characters with an ellipsis, for crowded axes."""
    label = str(label)
    return label if len(label) <= width else label[: width - 1] + "\u2026"
