"""Render the report's HTML: one Jinja environment with autoescaping, formatting as filters.

:func:`write_report` writes ``index.html`` and one page per review formulation under
``review/`` into a folder (the caller makes that folder appear atomically). Pages are
self-contained: CSS is inlined, figures are ``data:`` URIs, and nothing is fetched from the
network. Every string from the data (ingredient and property names, ids, messages) passes
through autoescaping; no template marks data as safe.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reports.format import FILTERS
from reports.views import build_view


@functools.cache
def environment() -> Environment:
    """The package's Jinja environment (built once)."""
    env = Environment(
        loader=PackageLoader("reports"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_index(view: dict) -> str:
    """``index.html`` for a view built by :func:`reports.views.build_view`."""
    return environment().get_template("index.html").render(view=view)


def render_page(view: dict, page: dict) -> str:
    """One review page."""
    return environment().get_template("review.html").render(view=view, page=page)


def write_report(results: dict, folder: str | Path) -> list[Path]:
    """Write ``index.html`` and the review pages for ``results`` into ``folder``.

    Returns the files written.
    """
    folder = Path(folder)
    view = build_view(results)
    written = []
    index = folder / "index.html"
    index.write_text(render_index(view), encoding="utf-8")
    written.append(index)
    for page in view["pages"]:
        file = folder / page["href"]
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(render_page(view, page), encoding="utf-8")
        written.append(file)
    return written
