"""Results dict in, view data out: every section of the report and every review page as plain,
already formatted dicts (see :mod:`reports.views.common`)."""

from __future__ import annotations

from reports.palette import build_palette
from reports.views.explain import attention_section, attributions_section
from reports.views.meta import experiments_section, provenance_section, review_section
from reports.views.overview import accuracy_section, data_section
from reports.views.represent import (
    dynamics_section,
    hypotheses_section,
    representations_section,
    substitution_section,
)
from reports.views.review_pages import review_pages
from reports.views.verdicts import verdict_box

SECTION_IDS = ("data", "accuracy", "attention", "attributions", "representations",
               "substitution", "hypotheses", "dynamics", "experiments", "review", "provenance")

__all__ = ["SECTION_IDS", "build_view"]


def build_view(results: dict) -> dict:
    """The whole report as view data: ``title``, ``sections`` (in ``SECTION_IDS`` order),
    ``pages`` (review pages), ``problems`` and the ingredient-group ``legend``."""
    data = results.get("data", {})
    groups = {k: v for k, v in (data.get("ingredient_groups") or {}).items() if v}
    palette = build_palette(groups, data.get("ingredient_names") or {})
    units = {"property": data.get("property_units") or {},
             "amount": data.get("amount_unit") or ""}
    pages = review_pages(results.get("review", {}), palette, units,
                         results.get("expert_review"), stability=results.get("stability"))
    sections = [
        data_section(data, palette),
        accuracy_section(results.get("accuracy", {}), data.get("property_transforms", {}),
                         data.get("property_units") or {}),
        attention_section(results.get("attention", {}), palette),
        attributions_section(results.get("attributions", {}), palette,
                             data.get("amount_unit") or "", data.get("property_units") or {},
                             results.get("stability")),
        representations_section(results.get("representations", {}), palette,
                                data.get("property_groups", {})),
        substitution_section(results.get("substitution", {}), data.get("property_units") or {}),
        hypotheses_section(results.get("hypotheses", {})),
        dynamics_section(results.get("dynamics", {})),
        experiments_section(results.get("experiments", {})),
        review_section(results.get("review", {}), results.get("expert_review"), pages),
        provenance_section(results.get("provenance", {})),
    ]
    prov = results.get("provenance", {})
    return {
        "title": "Mixer audit report",
        "subtitle": (f"{prov.get('data', {}).get('root', '')} \u00b7 created "
                     f"{prov.get('created', '')}"),
        "units": results.get("units", ""),
        "sections": sections,
        "pages": pages,
        "problems": list(results.get("problems", [])),
        "verdicts": verdict_box(results.get("verdicts"), data.get("property_units") or {}),
        "legend": [{"group": g, "colour": c} for g, c in palette.legend()],
    }
