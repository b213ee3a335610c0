"""Figures of attributions (all in standardised model units): global importance, attribution
against amount, agreement between methods, the sanity check, deletion curves (the review
pages' per-case figure is :mod:`reports.figures.review`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reports.figures.base import (
    METHOD_COLOURS,
    NEUTRAL,
    POSITIVE,
    WIDE,
    hover,
    legend_outside,
    new_figure,
    plain,
    shorten,
    styled,
)
from reports.palette import Palette

UNITS = "model units"


@styled
def importance_grid(importance: Mapping[str, Mapping], palette: Palette, *, columns: int = 3,
                    top: int = 8) -> Figure:
    """Per property, the ``top`` ingredients by mean |Shapley value|, bars coloured by group."""
    props = sorted(importance)
    rows = max(math.ceil(len(props) / columns), 1)
    fig = new_figure(width=WIDE, height=0.2 * top * rows + 0.6 * rows + 0.6)
    for k, prop in enumerate(props):
        ax = fig.add_subplot(rows, columns, k + 1)
        entry = importance[prop]
        names = entry["ingredients"][:top]
        values = entry["mean_abs"][:top]
        y = np.arange(len(names))
        bars = ax.barh(y, values, color=[palette.colour(n) for n in names])
        for bar, n, v in zip(bars, names, values, strict=True):
            hover(bar, f"{palette.label(n)}: mean |Shapley| {v:.3g} ({UNITS})")
        ax.set_yticks(y, [shorten(palette.label(n), 24) for n in names], fontsize=7.5)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=7.5)
        ax.set_title(shorten(prop, 30), fontsize=8)
        if k >= (rows - 1) * columns:
            ax.set_xlabel(f"mean |Shapley| ({UNITS})", fontsize=7.5)
    used = {n for e in importance.values() for n in e["ingredients"][:top]}
    _group_legend(fig, palette, used)
    return fig


@styled
def dependence_grid(series: Mapping[str, Sequence[Mapping]], palette: Palette, *,
                    columns: int = 3, amount_unit: str = "") -> Figure:
    """Amount against attribution, one panel per (property, ingredient), one series per method
    (``{method: [panel, ...]}``, each panel ``property, ingredient, amounts, attributions``);
    the methods' legend beside the grid."""
    keys: list[tuple[str, str]] = []
    for panels in series.values():
        for panel in panels:
            key = (panel["property"], panel["ingredient"])
            if key not in keys:
                keys.append(key)
    rows = max(math.ceil(len(keys) / columns), 1)
    fig = new_figure(width=WIDE, height=2.1 * rows + 0.5)
    markers = {"shapley": "o", "ig": "^"}
    for k, (prop, ingredient) in enumerate(keys):
        ax = fig.add_subplot(rows, columns, k + 1)
        n = 0
        for method, panels in series.items():
            panel = next((p for p in panels if (p["property"], p["ingredient"]) == (prop,
                                                                                   ingredient)),
                         None)
            if panel is None:
                continue
            x = _floats(panel["amounts"])
            y = _floats(panel["attributions"])
            n = max(n, len(x))
            points = ax.scatter(x, y, s=12, alpha=0.75, marker=markers.get(method, "o"),
                                color=METHOD_COLOURS.get(method, NEUTRAL), linewidths=0,
                                label=_method_name(method) if k == 0 else None)
            ids = panel.get("formulation_ids") or [""] * len(x)
            hover(points, [f"{f} amount {a:.3g}: {_method_name(method)} {v:+.3g}".strip()
                           for f, a, v in zip(ids, x, y, strict=False)])
        ax.axhline(0.0, color=NEUTRAL, lw=0.6)
        ax.set_title(f"{shorten(palette.label(ingredient), 26)}\n\u2192 {shorten(prop, 24)}"
                     f" (n={n})", fontsize=7.5)
        ax.tick_params(labelsize=7.5)
        if k % columns == 0:
            ax.set_ylabel(f"attribution ({UNITS})", fontsize=7.5)
        if k >= (rows - 1) * columns or k + columns >= len(keys):
            ax.set_xlabel(f"amount ({amount_unit or 'as given'})", fontsize=7.5)
    if keys:
        fig.legend(loc="outside right upper", fontsize=7.5)
    return fig


@styled
def agreement_histogram(spearman: Sequence[float | None], top_k: Sequence[float | None],
                        k: int) -> Figure:
    """Per-case rank correlation and top-k overlap between Integrated Gradients and Shapley."""
    fig = new_figure(height=2.4)
    left, right = fig.subplots(1, 2)
    rho = np.asarray([v for v in spearman if v is not None], dtype=float)
    left.hist(rho, bins=20, range=(-1, 1), color=METHOD_COLOURS["shapley"])
    left.set_xlabel("Spearman correlation per case")
    left.set_ylabel("cases")
    overlap = np.asarray([v for v in top_k if v is not None], dtype=float)
    right.hist(overlap, bins=np.linspace(-0.05, 1.05, 12), color=METHOD_COLOURS["ig"])
    right.set_xlabel(f"share of top {k} ingredients in common")
    return fig


@styled
def sanity_curve(stages: Sequence[str], spearman: Sequence[float | None],
                 abs_spearman: Sequence[float | None], threshold: float) -> Figure:
    """Similarity of attributions to the original as layers are re-initialised top down."""
    fig = new_figure(height=2.4)
    ax = fig.add_subplot()
    x = np.arange(len(stages))
    ax.plot(x, _floats(spearman), marker="o", color=METHOD_COLOURS["ig"], label="signed")
    ax.plot(x, _floats(abs_spearman), marker="s", color=NEUTRAL, label="|attribution|")
    ax.axhline(threshold, color=POSITIVE, lw=0.8, ls="--", label=f"pass below {threshold:g}")
    ax.set_xticks(x, stages)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("mean Spearman with original")
    ax.set_xlabel("re-initialised, cumulatively")
    legend_outside(ax)
    return fig


@styled
def deletion_plot(curves: Mapping[str, Mapping]) -> Figure:
    """Deletion curves of each method against random orders: prediction drop when removing
    the most positive first, and remaining gap when removing the largest |attribution| first."""
    fig = new_figure(height=2.6)
    axes = fig.subplots(1, 2)
    titles = {"positive": "drop in prediction, most positive first",
              "magnitude": "gap to all removed, largest |value| first"}
    for ax, order in zip(axes, ("positive", "magnitude"), strict=True):
        random_drawn = False
        for method, d in curves.items():
            if not d or "orders" not in d:
                continue
            x = np.asarray(d["fractions"], dtype=float)
            o = d["orders"][order]
            ax.plot(x, _floats(o["curve"]), color=METHOD_COLOURS.get(method, NEUTRAL),
                    label=_method_name(method))
            if not random_drawn:
                ax.plot(x, _floats(o["random_curve"]), color=NEUTRAL, ls="--", label="random order")
                random_drawn = True
        ax.set_title(titles[order], fontsize=8)
        ax.set_xlabel("share of ingredients removed")
        ax.set_ylabel(UNITS)
    legend_outside(axes[-1])
    return fig


@styled
def reference_scatter(panels: Sequence[Mapping]) -> Figure:
    """Our attributions against a reference library's on the same cases, one panel per
    reference (``title``, ``ours``, ``reference``, ``ours_label``, ``difference``, and our
    ``method``, which sets the colour), with the 1:1 line; the panel title gives the largest
    |difference|."""
    fig = new_figure(height=2.8)
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=False):
        ours, ref = _floats(panel["ours"]), _floats(panel["reference"])
        n = min(len(ours), len(ref))
        ours, ref = ours[:n], ref[:n]
        ax.scatter(ref, ours, s=8, alpha=0.6, linewidths=0,
                   color=METHOD_COLOURS.get(panel.get("method", ""), NEUTRAL),
                   rasterized=n > 2000)
        both = np.concatenate([ours, ref])
        both = both[np.isfinite(both)]
        lo, hi = (float(both.min()), float(both.max())) if len(both) else (-1.0, 1.0)
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        ax.plot([lo, hi], [lo, hi], color=NEUTRAL, lw=0.8, ls="--")
        difference = panel.get("difference")
        shown = "\u2013" if difference is None else f"{difference:.2g}"
        ax.set_title(plain(f"{panel['title']}\nlargest |difference| {shown}"), fontsize=8)
        ax.set_xlabel(plain(panel["title"].split(" (")[0]) + f" ({UNITS})", fontsize=7.5)
        ax.set_ylabel(plain(panel.get("ours_label", "ours")), fontsize=7.5)
        ax.tick_params(labelsize=7.5)
    return fig


def _group_legend(fig: Figure, palette: Palette, ingredients) -> None:
    handles = [Patch(color=c, label=plain(g)) for g, c in palette.legend(ingredients)]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6),
                   fontsize=7.5)


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _method_name(method: str) -> str:
    return {"ig": "Integrated Gradients", "shapley": "Shapley"}.get(method, method)
