"""Figures of attention: per-layer maps and rollout of one recipe, and the share of attention
the property token puts on ingredients."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from reports.figures.base import (
    NEUTRAL,
    POSITIVE,
    legend_outside,
    new_figure,
    plain,
    shorten,
    styled,
)


@styled
def attention_sample(tokens: Sequence[str], layers: Sequence[Sequence[Sequence[float]]],
                     rollout: Sequence[Sequence[float]], *, title: str,
                     columns: int = 2) -> Figure:
    """Heads-averaged attention of every layer and the rollout, query rows by key columns, two
    panels a row so every token keeps a readable label. The colour scale is fitted to the
    data (0 to the largest weight shown, square-root scaled) instead of 0 to 1, where most
    weights are small and would all look dark."""
    panels = [(f"layer {i + 1}", np.asarray(m, dtype=float)) for i, m in enumerate(layers)]
    panels.append(("rollout", np.asarray(rollout, dtype=float)))
    n = len(panels)
    size = len(tokens)
    rows = math.ceil(n / columns)
    side = min(max(0.15 * size + 1.4, 3.0), 6.5)  # inches per panel: >= 0.15 in per token
    fig = new_figure(width=min(columns * side + 1.4, 13.0), height=rows * side + 0.5)
    labels = [shorten(t, 26) for t in tokens]
    values = np.concatenate([m.ravel() for _, m in panels])
    values = values[np.isfinite(values)]
    top = float(np.max(values)) if len(values) else 1.0
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=top if top > 0 else 1.0)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    image = None
    for k, ax in enumerate(axes):
        if k >= n:
            ax.set_axis_off()
            continue
        name, matrix = panels[k]
        image = ax.imshow(matrix, cmap="viridis", norm=norm, aspect="equal",
                          interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_xticks(range(size), labels, rotation=90, fontsize=7.5)
        ax.set_yticks(range(size), labels, fontsize=7.5)
        ax.tick_params(length=0)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:n]), shrink=0.6,
                     label=f"attention weight (square-root scale, 0 to {top:.2f})")
    fig.suptitle(plain(title), fontsize=9)
    return fig


@styled
def share_histogram(shares: Sequence[float], threshold: float) -> Figure:
    """Histogram over cases of the property token's rolled-out attention share on ingredients,
    with the flag threshold."""
    values = np.asarray([s for s in shares if s is not None], dtype=float)
    fig = new_figure(height=2.4)
    ax = fig.add_subplot()
    ax.hist(values, bins=30, range=(0.0, 1.0), color="#0072b2")
    ax.axvline(threshold, color=POSITIVE, lw=1.0, ls="--", label=f"flag below {threshold:g}")
    if len(values):
        ax.axvline(float(np.mean(values)), color=NEUTRAL, lw=1.0, label="mean")
    ax.set_xlabel("share of the property token's rolled-out attention on ingredients")
    ax.set_ylabel("cases")
    legend_outside(ax)
    return fig
