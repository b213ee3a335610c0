"""Drawing on one Axes, shared by the notebook plots (:mod:`reports.plots`) and the report's
figures: a waterfall of attributions and a labelled heatmap. Each draws on the Axes it is given
and creates no figure; names pass through :func:`reports.figures.base.shorten`."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

from reports.figures.base import NEGATIVE, NEUTRAL, POSITIVE, plain, shorten


def waterfall_bars(ax: Axes, names: Sequence[str], values: np.ndarray, baseline: float,
                   prediction: float, *, top: int = 10, start_label: str = "f(no ingredient)",
                   end_label: str = "f(recipe)", fontsize: float | None = None,
                   width: int = 16) -> None:
    """Horizontal waterfall from ``baseline`` to ``prediction`` through ``values`` (one per
    name, the players only), largest |value| first; past ``top`` the rest are pooled into one
    bar. The first and last bars start at 0; the steps are red when they raise the prediction
    and blue when they lower it."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(-np.abs(values), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [plain(start_label)] + [shorten(names[i], width) for i in shown]
    steps = [float(values[i]) for i in shown]
    if len(rest):
        labels.append(f"{len(rest)} others")
        steps.append(float(np.sum(values[rest])))
    labels.append(plain(end_label))
    y = np.arange(len(labels))
    ax.barh(y[0], baseline, color=NEUTRAL, height=0.6)
    start = baseline
    for k, step in enumerate(steps, start=1):
        ax.barh(y[k], step, left=start, color=POSITIVE if step >= 0 else NEGATIVE, height=0.6)
        start += step
    ax.barh(y[-1], prediction, color=NEUTRAL, height=0.6)
    ax.axvline(0.0, color=NEUTRAL, lw=0.5)
    ax.set_yticks(y, labels, fontsize=fontsize)
    ax.invert_yaxis()


def heatmap(ax: Axes, matrix: np.ndarray, rows: Sequence[str], columns: Sequence[str], *,
            cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None,
            label: str = "", width: int = 16, colorbar: bool = True) -> AxesImage:
    """``matrix`` (rows x columns) as an image with one tick label per row and column (names
    shortened to ``width``; none when a list is empty), NaN cells pale grey, and a colour bar
    labelled ``label`` beside ``ax``. The label size shrinks as the matrix grows, down to 5 pt.
    """
    m = np.ma.masked_invalid(np.asarray(matrix, dtype=float))
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#eeeeee")
    image = ax.imshow(m, cmap=colours, vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    size = float(np.clip(220 / max(len(rows), len(columns), 1), 5, 9))
    ax.set_xticks(range(len(columns)), [shorten(c, width) for c in columns], rotation=90,
                  fontsize=size)
    ax.set_yticks(range(len(rows)), [shorten(r, width) for r in rows], fontsize=size)
    if not len(columns):
        ax.set_xticks([])
    if not len(rows):
        ax.set_yticks([])
    ax.tick_params(length=0)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8, label=plain(label))
    return image


def fitted_range(matrix: np.ndarray) -> tuple[float, float]:
    """(vmin, vmax) of the finite entries, widened when they are all equal."""
    finite = np.asarray(matrix, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        pad = abs(lo) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    return lo, hi
