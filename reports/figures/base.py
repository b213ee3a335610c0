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
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

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
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
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


SVG_NS = "http://www.w3.org/2000/svg"
DATA_GID = "data-mark"  # prefix of the ids given to every data artist (bars, points, lines)
LEGEND_GID = "legend-box"  # prefix of the ids given to every legend


def hover(artist, titles: str | Sequence[str]) -> None:
    """Hover text for ``artist``: one string, or one per point or patch of a collection, shown
    as SVG ``<title>`` elements when the figure is inlined with :func:`to_svg_markup`."""
    fig = artist.figure
    store = fig.__dict__.setdefault("_hover_titles", {})
    gid = f"{DATA_GID}-hover-{len(store)}"
    artist.set_gid(gid)
    store[gid] = titles if isinstance(titles, str) else [str(t) for t in titles]


def to_svg_markup(fig: Figure, *, label: str = "") -> str:
    """The figure as inline ``<svg>`` markup (no XML prolog), the figure cleared afterwards.

    Every data artist of every Axes (patches, collections, lines, images) gets an id starting
    with ``data-mark`` and every legend one starting with ``legend-box``, so a browser test can
    find them; hover texts registered with :func:`hover` become ``<title>`` children. Element
    ids are made unique per figure with ``label`` (default: a hash of the drawing), as several
    figures share one page. Text is
    escaped by matplotlib and by :mod:`xml.etree`.
    """
    titles = fig.__dict__.pop("_hover_titles", {})
    _tag_artists(fig)
    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    fig.clear()
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(buffer.getvalue())
    for metadata in root.findall(f"{{{SVG_NS}}}metadata"):
        root.remove(metadata)
    for group in root.iter(f"{{{SVG_NS}}}g"):
        text = titles.get(group.get("id", ""))
        if text is None:
            continue
        if isinstance(text, str):
            _title(group, text)
            continue
        marks = [e for e in group.iter() if e.tag in (f"{{{SVG_NS}}}use", f"{{{SVG_NS}}}path")
                 and e is not group and not _in_defs(group, e)]
        for mark, t in zip(marks, text, strict=False):
            _title(mark, t)
    root.set("class", "figure-svg")
    root.set("role", "img")
    markup = ET.tostring(root, encoding="unicode")
    # unique ids per figure, so clip paths and markers of two figures never collide
    label = label or hashlib.sha1(markup.encode()).hexdigest()[:10]
    return _prefix_ids(markup, "f" + re.sub(r"[^A-Za-z0-9]", "", label)[:24])


def _tag_artists(fig: Figure) -> None:
    k = 0
    for ax in fig.axes:
        for artist in [*ax.patches, *ax.collections, *ax.lines, *ax.images]:
            if not (artist.get_gid() or "").startswith(DATA_GID):
                artist.set_gid(f"{DATA_GID}-{k}")
                k += 1
        legend = ax.get_legend()
        if legend is not None:
            legend.set_gid(f"{LEGEND_GID}-{k}")
            k += 1
    for legend in fig.legends:
        legend.set_gid(f"{LEGEND_GID}-{k}")
        k += 1


def _title(element, text: str) -> None:
    t = ET.Element(f"{{{SVG_NS}}}title")
    t.text = text
    element.insert(0, t)


def _in_defs(group, element) -> bool:
    for defs in group.iter(f"{{{SVG_NS}}}defs"):
        if any(e is element for e in defs.iter()):
            return True
    return False


def _prefix_ids(markup: str, prefix: str) -> str:
    ids = set(re.findall(r'\bid="([^"]+)"', markup))
    ids = {i for i in ids if not i.startswith((DATA_GID, LEGEND_GID))}
    if not ids:
        return markup
    pattern = re.compile(r'(\bid="|url\(#|href="#)(' + "|".join(map(re.escape, sorted(ids)))
                         + r')(?=["\)])')
    return pattern.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", markup)


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


def legend_outside(ax, **kwargs) -> None:
    """The Axes' legend to the right of its plotting area, never over the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def plain(text) -> str:
    """``text`` as matplotlib should show it, character for character: every ``$`` escaped, so a
    name never starts mathtext (a name like ``a$_b$`` would otherwise stop the drawing)."""
    return str(text).replace("$", r"\$")


def cut(label, width: int = 22) -> str:
    """``label`` cut to ``width`` characters with an ellipsis, as written (for SVG drawn
    directly, where no character is special)."""
    label = str(label)
    return label if len(label) <= width else label[: width - 1] + "\u2026"


def shorten(label, width: int = 22) -> str:
    """A label :func:`cut` to ``width`` characters for crowded axes, then made :func:`plain`."""
    return plain(cut(label, width))
