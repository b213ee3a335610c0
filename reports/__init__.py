"""Stage 3: result objects and results in, figures and HTML out.

- :mod:`reports.plots`: plots of result objects on a matplotlib Axes (``ax=``), for a notebook.
- :func:`reports.write_report`: the report folder of an audit (``index.html``, review pages,
  ``results.json``, ``attributions.csv``), written atomically.

``import reports`` imports neither matplotlib nor jinja2 and changes no matplotlib setting: the
two names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports import plots
    from reports.writer import write_report

__all__ = ["plots", "write_report"]


def __getattr__(name: str):
    if name == "plots":
        return importlib.import_module("reports.plots")
    if name == "write_report":
        return importlib.import_module("reports.writer").write_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
