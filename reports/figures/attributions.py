"""Figures of attributions (all in standardised model units): global importance, attribution
against amount, agreement between methods, the sanity check, deletion curves, and the
per-case waterfall of the review pages."""

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
    new_figure,
    plain,
    shorten,
    styled,
)
from reports.figures.draw import waterfall_bars
from reports.palette import Palette

UNITS = "model units"


@styled
def importance_grid(importance: Mapping[str, Mapping], palette: Palette, *, columns: int = 3,
                    top: int = 8) -> Figure:
    """Per property, the ``top`` ingredients by mean |Shapley value|, bars coloured by group."""
    props = sorted(importance)
    rows = max(math.ceil(len(props) / columns), 1)
    fig = new_figure(width=WIDE, height=0.16 * top * rows + 0.55 * rows + 0.5)
    for k, prop in enumerate(props):
        ax = fig.add_subplot(rows, columns, k + 1)
        entry = importance[prop]
        names = entry["ingredients"][:top]
        values = entry["mean_abs"][:top]
        y = np.arange(len(names))
        ax.barh(y, values, color=[palette.colour(n) for n in names])
        ax.set_yticks(y, [shorten(n, 14) for n in names], fontsize=6)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title(shorten(prop, 30), fontsize=8)
        if k >= (rows - 1) * columns:
            ax.set_xlabel(f"mean |Shapley| ({UNITS})", fontsize=7)
    used = {n for e in importance.values() for n in e["ingredients"][:top]}
    _group_legend(fig, palette, used)
    return fig


@styled
def dependence_grid(panels: Sequence[Mapping], palette: Palette, *, columns: int = 3) -> Figure:
    """Amount (dataset units) against Shapley value, one panel per (property, ingredient)."""
    rows = max(math.ceil(len(panels) / columns), 1)
    fig = new_figure(width=WIDE, height=1.9 * rows + 0.3)
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(rows, columns, k + 1)
        x = np.asarray(panel["amounts"], dtype=float)
        y = np.asarray(panel["attributions"], dtype=float)
        ax.scatter(x, y, s=9, alpha=0.7, color=palette.colour(panel["ingredient"]),
                   linewidths=0)
        ax.axhline(0.0, color=NEUTRAL, lw=0.6)
        ax.set_title(f"{shorten(panel['ingredient'], 16)} \u2192 {shorten(panel['property'], 18)}"
                     f" (n={len(x)})", fontsize=7)
        ax.tick_params(labelsize=6)
        if k % columns == 0:
            ax.set_ylabel(f"Shapley ({UNITS})", fontsize=7)
        if k >= (rows - 1) * columns:
            ax.set_xlabel("amount", fontsize=7)
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
    ax.legend(loc="lower left")
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
        ax.legend()
    return fig


@styled
def review_figure(names: Sequence[str], ig: Sequence[float | None],
                  shapley: Sequence[float | None], baseline: float, prediction: float,
                  palette: Palette, *, top: int = 10, title: str = "") -> Figure:
    """Left: a waterfall from f(no ingredient) to f(recipe) through the Shapley values, largest
    first, the rest pooled. Right: Integrated Gradients and Shapley values side by side."""
    phi = np.array([np.nan if v is None else v for v in shapley], dtype=float)
    grad = np.array([np.nan if v is None else v for v in ig], dtype=float)
    players = np.flatnonzero(np.isfinite(phi))
    order = players[np.argsort(-np.abs(phi[players]), kind="stable")]
    shown = order[:top]
    height = max(2.4, 0.24 * (len(shown) + 2) + 0.9)
    fig = new_figure(height=height)
    fig.set_layout_engine(None)  # fixed margins: many of these are drawn, and fast
    fig.subplots_adjust(left=0.17, right=0.98, wspace=0.42, bottom=0.5 / height,
                        top=1 - (0.45 if title else 0.3) / height)
    left, right = fig.subplots(1, 2)

    waterfall_bars(left, [names[i] for i in players], phi[players], baseline, prediction,
                   top=top, fontsize=7)
    left.set_xlabel(f"prediction ({UNITS})")
    left.set_title("Shapley waterfall", fontsize=8)

    ranked = shown[::-1]
    yy = np.arange(len(ranked))
    right.barh(yy - 0.2, grad[ranked], height=0.4, color=METHOD_COLOURS["ig"], label="IG")
    right.barh(yy + 0.2, phi[ranked], height=0.4, color=METHOD_COLOURS["shapley"],
               label="Shapley")
    right.axvline(0.0, color=NEUTRAL, lw=0.5)
    right.set_yticks(yy, [shorten(names[i], 16) for i in ranked], fontsize=7)
    for tick, i in zip(right.get_yticklabels(), ranked, strict=True):
        tick.set_color(palette.colour(names[i]))
    right.set_xlabel(f"attribution ({UNITS})")
    right.set_title("IG and Shapley", fontsize=8)
    right.legend(loc="lower right")
    if title:
        fig.suptitle(plain(title), fontsize=9)
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
        ax.set_xlabel(plain(panel["title"].split(" (")[0]) + f" ({UNITS})", fontsize=7)
        ax.set_ylabel(plain(panel.get("ours_label", "ours")), fontsize=7)
        ax.tick_params(labelsize=6)
    return fig


def _group_legend(fig: Figure, palette: Palette, ingredients) -> None:
    handles = [Patch(color=c, label=plain(g)) for g, c in palette.legend(ingredients)]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6),
                   fontsize=7)


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _method_name(method: str) -> str:
    return {"ig": "Integrated Gradients", "shapley": "Shapley"}.get(method, method)
