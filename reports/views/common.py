"""Building blocks of view data: what templates loop over.

A section is ``{"id", "title", "reading", "blocks"}``; each block is a plain dict with a
``kind`` (``figure``, ``table``, ``text``, ``heading``, ``pre``, ``legend``) and already
formatted strings. Table cells are dicts ``{"text", "cls", "colour", "href", "title"}`` so a
template never formats or decides anything. All text is escaped by the template engine.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence

from markupsafe import Markup
from matplotlib.figure import Figure

from reports.figures.base import to_png_uri, to_svg_markup
from reports.format import count, pct
from reports.palette import Palette

# The small-sample threshold of xai.checks.fitness (the rule), repeated here so that reports
# import without xai or torch; tests/reports/test_render.py checks that the two agree.
SMALL_SAMPLE = 20


def is_small(n) -> bool:
    """Whether a rate resting on ``n`` cases is marked as a small sample."""
    return n is not None and n < SMALL_SAMPLE

SMALL_TITLE = (f"small sample: fewer than {SMALL_SAMPLE} cases; a rate or verdict on so few "
               "cases can change with a handful of them")


def section(id: str, title: str, reading: str, blocks: Sequence[dict] = (), *,
            available: bool = True) -> dict:
    return {"id": id, "title": title, "reading": reading, "blocks": list(blocks),
            "available": available}


def unavailable(id: str, title: str, part: dict | None, default: str = "not available") -> dict:
    """A section that says why it has nothing to show."""
    reason = (part or {}).get("reason") or default
    return section(id, title, f"Not available: {reason}.", [], available=False)


def is_available(part) -> bool:
    return isinstance(part, dict) and part.get("available", True) is not False


def figure(fig: Figure | str, alt: str, caption: str = "", *, png: bool = False,
           download: dict | None = None) -> dict:
    """A figure block: inline SVG (hover texts, selectable labels), or a PNG ``data:`` URI for
    dense raster content. ``fig`` is a matplotlib figure, or SVG markup already written by
    :mod:`reports.figures.svg` (escaped there). ``download`` is an optional
    ``{"href", "name", "text"}`` link (the figure's full data as a file)."""
    if isinstance(fig, str):
        return {"kind": "figure", "src": None, "svg": Markup(fig), "alt": alt,
                "caption": caption, "download": download}
    if png:
        return {"kind": "figure", "src": to_png_uri(fig), "svg": None, "alt": alt,
                "caption": caption, "download": download}
    # Markup: matplotlib writes the SVG and escapes every text in it; our hover titles are
    # escaped by xml.etree. Nothing from the data enters unescaped.
    return {"kind": "figure", "src": None, "svg": Markup(to_svg_markup(fig)), "alt": alt,
            "caption": caption, "download": download}


def download(content: str, name: str, text: str, mime: str = "text/csv") -> dict:
    """A link that saves ``content`` as the file ``name`` (a ``data:`` URI: no request)."""
    data = base64.b64encode(content.encode("utf-8")).decode("ascii")
    return {"href": f"data:{mime};charset=utf-8;base64,{data}", "name": name, "text": text}


def cell(text, *, cls: str = "", colour: str | None = None, href: str | None = None,
         title: str | None = None) -> dict:
    return {"text": "" if text is None else str(text), "cls": cls, "colour": colour,
            "href": href, "title": title}


def num_cell(text: str, **kw) -> dict:
    """A right-aligned numeric cell."""
    return cell(text, cls=("num " + kw.pop("cls", "")).strip(), **kw)


def group_cell(group: str, palette: Palette) -> dict:
    """An ingredient group with its palette colour swatch."""
    return cell(group or "\u2013", colour=palette.group_colour(group or "ungrouped"),
                cls="nowrap")


def table(columns: Sequence[str], rows: Iterable[Sequence], *, caption: str = "",
          note: str = "", numeric: Sequence[int] = ()) -> dict:
    """A table block; plain strings become cells, columns listed in ``numeric`` align right."""
    numeric = set(numeric)
    body = []
    for row in rows:
        out = []
        for j, value in enumerate(row):
            c = value if isinstance(value, dict) else cell(value)
            if j in numeric and "num" not in c["cls"].split():
                c = {**c, "cls": (c["cls"] + " num").strip()}
            out.append(c)
        body.append(out)
    return {"kind": "table", "columns": list(columns), "rows": body, "caption": caption,
            "note": note, "numeric": sorted(numeric)}


def text(value: str, cls: str = "") -> dict:
    return {"kind": "text", "text": value, "cls": cls}


def heading(value: str) -> dict:
    return {"kind": "heading", "text": value}


def pre(value: str) -> dict:
    return {"kind": "pre", "text": value}


def legend(palette: Palette, ingredients: Iterable[str] | None = None) -> dict:
    return {"kind": "legend", "items": [{"group": g, "colour": c}
                                        for g, c in palette.legend(ingredients)]}


def verdict_cell(verdict: str) -> dict:
    """A hypothesis verdict as a coloured badge."""
    cls = {"supported": "good", "not supported": "bad", "inconclusive": "meh"}.get(verdict, "")
    return cell(verdict, cls=f"badge {cls}")


def n_cell(n) -> dict:
    """A case count, marked "small" when it is below the report's small-sample threshold."""
    if is_small(n):
        return cell(f"{count(n)} small", cls="num small-n", title=SMALL_TITLE)
    return num_cell(count(n))


def rate_cell(share, n, *, cls: str = "") -> dict:
    """A share as a percentage, with its count and a "small" mark when it rests on fewer than
    the threshold's cases (``67% (n=3, small)``)."""
    if is_small(n):
        return cell(f"{pct(share)} (n={count(n)}, small)", cls=f"num small-n {cls}".strip(),
                    title=SMALL_TITLE)
    return num_cell(pct(share), cls=cls)
