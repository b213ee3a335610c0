"""The inverse-design page: one self-contained HTML file from ``design.json``'s dictionary."""

from __future__ import annotations

from reports.render import environment, table_script
from reports.views.design import design_view


def render_design_page(summary: dict) -> str:
    """``design.html`` for the summary that ``xai design`` writes to ``design.json``."""
    script, digest = table_script()  # the one inline script the page's policy allows
    return environment().get_template("design.html").render(view=design_view(summary),
                                                            script=script, script_hash=digest)
