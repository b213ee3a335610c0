"""Figures of the data summary and of accuracy: counts per property and group, parity plots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from reports.figures.base import NEUTRAL, WIDE, new_figure, plain, shorten, styled


@styled
def count_bars(counts: Mapping[str, int], *, title: str, xlabel: str,
               colours: Mapping[str, str] | None = None, log: bool = False) -> Figure:
    """Horizontal bars, one per key, largest on top; ``colours`` maps keys to colours."""
    names = sorted(counts, key=lambda k: (-counts[k], k))
    fig = new_figure(height=max(1.6, 0.22 * len(names) + 0.8))
    ax = fig.add_subplot()
    y = np.arange(len(names))
    colour = [colours.get(n, NEUTRAL) if colours else NEUTRAL for n in names]
    ax.barh(y, [counts[n] for n in names], color=colour)
    ax.set_yticks(y, [shorten(n, 28) for n in names])
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(plain(title), loc="left")
    for i, n in enumerate(names):
        ax.annotate(f"{counts[n]:,}", (counts[n], i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7, color=NEUTRAL)
    return fig


@styled
def parity_grid(parity: Mapping[str, Mapping[str, Sequence[float]]],
                transforms: Mapping[str, str], r2: Mapping[str, float | None], *,
                columns: int = 4) -> Figure:
    """One measured-versus-predicted panel per property (test split, original units), with the
    identity line; log axes for log-transformed properties."""
    props = [p for p in sorted(parity) if len(parity[p]["measured"])]
    rows = max(math.ceil(len(props) / columns), 1)
    fig = new_figure(width=WIDE, height=1.9 * rows + 0.3)
    for k, prop in enumerate(props):
        ax = fig.add_subplot(rows, columns, k + 1)
        y = np.asarray(parity[prop]["measured"], dtype=float)
        p = np.asarray(parity[prop]["predicted"], dtype=float)
        log = transforms.get(prop) == "log" and np.all(y > 0) and np.all(p > 0)
        ax.scatter(p, y, s=6, alpha=0.5, color="#0072b2", linewidths=0, rasterized=len(y) > 400)
        both = np.concatenate([y, p])
        lo, hi = float(np.min(both)), float(np.max(both))
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        ax.plot([lo, hi], [lo, hi], color=NEUTRAL, lw=0.8, ls="--")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        score = r2.get(prop)
        shown = f"{score:.2f}" if score is not None and np.isfinite(score) else "\u2013"
        label = f"R\u00b2 {shown}"
        ax.set_title(f"{shorten(prop, 24)}\n{label}, n={len(y)}", fontsize=8)
        ax.tick_params(labelsize=6)
        if k % columns == 0:
            ax.set_ylabel("measured", fontsize=7)
        if k >= (rows - 1) * columns:
            ax.set_xlabel("predicted", fontsize=7)
    return fig


@styled
def error_comparison(models: Mapping[str, Mapping[str, float | None]], *,
                     title: str = "test RMSE relative to the mean predictor") -> Figure:
    """Grouped bars of ``{model: {property: relative RMSE}}`` (1 = the mean predictor; lower
    is better)."""
    names = list(models)
    props = sorted({p for m in models.values() for p in m})
    fig = new_figure(height=max(2.2, 0.1 * len(props) * len(names) + 1.0))
    ax = fig.add_subplot()
    width = 0.8 / max(len(names), 1)
    palette = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9"]
    y = np.arange(len(props))
    for i, name in enumerate(names):
        values = [models[name].get(p) for p in props]
        values = [np.nan if v is None else v for v in values]
        ax.barh(y + i * width - 0.4 + width / 2, values, height=width,
                color=palette[i % len(palette)], label=plain(name))
    ax.axvline(1.0, color=NEUTRAL, lw=0.8, ls="--")
    ax.set_yticks(y, [shorten(p, 26) for p in props])
    ax.invert_yaxis()
    ax.set_xlabel("RMSE / mean-predictor RMSE (lower is better)")
    ax.set_title(plain(title), loc="left")
    ax.legend(loc="lower right")
    return fig
