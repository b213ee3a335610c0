"""Render the report's HTML: one Jinja environment with autoescaping, formatting as filters.

:func:`write_report` writes ``index.html`` and one page per review formulation under
``review/`` into a folder (the caller makes that folder appear atomically). Pages are
self-contained: CSS is inlined, figures are ``data:`` URIs, and nothing is fetched from the
network. Every string from the data (ingredient and property names, ids, messages) passes
through autoescaping; no template marks data as safe. One small inline script (our own,
allowed by its hash in the content security policy) makes tables sortable and filterable;
the pages read fully without it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

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


@functools.cache
def table_script() -> tuple[Markup, str]:
    """The inline script that makes tables sortable and filterable, and its CSP source
    (``'sha256-...'``): the page's policy allows exactly this script and nothing else."""
    text = (files("reports") / "templates" / "tables.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"sha256-{digest}"


def render_index(view: dict) -> str:
    """``index.html`` for a view built by :func:`reports.views.build_view`."""
    script, digest = table_script()
    return environment().get_template("index.html").render(view=view, script=script,
                                                           script_hash=digest)


def render_page(view: dict, page: dict) -> str:
    """One review page."""
    script, digest = table_script()
    return environment().get_template("review.html").render(view=view, page=page, script=script,
                                                            script_hash=digest)


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
