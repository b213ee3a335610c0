"""Figures of attention: per-layer maps and rollout of one recipe, and the share of attention
the property token puts on ingredients."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from reports.figures.base import NEUTRAL, POSITIVE, new_figure, plain, shorten, styled


@styled
def attention_sample(tokens: Sequence[str], layers: Sequence[Sequence[Sequence[float]]],
                     rollout: Sequence[Sequence[float]], *, title: str) -> Figure:
    """Heads-averaged attention of every layer and the rollout, query rows by key columns."""
    panels = [(f"layer {i + 1}", np.asarray(m, dtype=float)) for i, m in enumerate(layers)]
    panels.append(("rollout", np.asarray(rollout, dtype=float)))
    n = len(panels)
    size = len(tokens)
    fig = new_figure(width=min(2.6 * n + 0.8, 10.0), height=min(0.16 * size + 1.6, 4.6))
    labels = [shorten(t, 14) for t in tokens]
    axes = fig.subplots(1, n, squeeze=False)[0]
    image = None
    for k, (ax, (name, matrix)) in enumerate(zip(axes, panels, strict=True)):
        image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0, aspect="equal",
                          interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_xticks(range(size), labels, rotation=90, fontsize=5)
        ax.set_yticks(range(size), labels if k == 0 else [], fontsize=5)
        ax.tick_params(length=0)
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.7, label="attention weight")
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
    ax.legend()
    return fig
