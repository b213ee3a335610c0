"""Drawing on one Axes, shared by the notebook plots (:mod:`reports.plots`) and the report's
figures: a waterfall of attributions and a labelled heatmap. Each draws on the Axes it is given
and creates no figure; names pass through :func:`reports.figures.base.shorten`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

from reports.figures.base import NEGATIVE, NEUTRAL, POSITIVE, cut, plain, shorten


@dataclass(frozen=True)
class WaterfallSteps:
    """The bars of a waterfall, top to bottom: ``labels`` (cut to length, not yet made
    :func:`~reports.figures.base.plain`), each bar's ``left`` end and signed ``width``, and its
    ``colour``; ``names`` holds the uncut name of each bar (the pooled rest and the two ends
    get their labels)."""

    labels: list[str]
    names: list[str]
    left: list[float]
    width: list[float]
    colour: list[str]


def waterfall_steps(names: Sequence[str], values: np.ndarray, baseline: float,
                    prediction: float, *, top: int = 10, start_label: str = "f(no ingredient)",
                    end_label: str = "f(recipe)", width: int = 16) -> WaterfallSteps:
    """A waterfall from ``baseline`` to ``prediction`` through ``values`` (one per name, the
    players only), largest |value| first; past ``top`` the rest are pooled into one bar. The
    first and last bars start at 0; the steps are red when they raise the prediction and blue
    when they lower it."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(-np.abs(values), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [start_label] + [cut(names[i], width) for i in shown]
    full = [start_label] + [str(names[i]) for i in shown]
    steps = [float(values[i]) for i in shown]
    if len(rest):
        labels.append(f"{len(rest)} others")
        full.append(f"{len(rest)} others")
        steps.append(float(np.sum(values[rest])))
    labels.append(end_label)
    full.append(end_label)
    left, widths, colours = [0.0], [float(baseline)], [NEUTRAL]
    start = float(baseline)
    for step in steps:
        left.append(start)
        widths.append(step)
        colours.append(POSITIVE if step >= 0 else NEGATIVE)
        start += step
    left.append(0.0)
    widths.append(float(prediction))
    colours.append(NEUTRAL)
    return WaterfallSteps(labels, full, left, widths, colours)


def waterfall_bars(ax: Axes, names: Sequence[str], values: np.ndarray, baseline: float,
                   prediction: float, *, top: int = 10, start_label: str = "f(no ingredient)",
                   end_label: str = "f(recipe)", fontsize: float | None = None,
                   width: int = 16) -> None:
    """:func:`waterfall_steps` drawn on ``ax`` as horizontal bars, the first on top."""
    bars = waterfall_steps(names, values, baseline, prediction, top=top,
                           start_label=start_label, end_label=end_label, width=width)
    y = np.arange(len(bars.labels))
    for k in y:
        ax.barh(k, bars.width[k], left=bars.left[k], color=bars.colour[k], height=0.6)
    ax.axvline(0.0, color=NEUTRAL, lw=0.5)
    ax.set_yticks(y, [plain(label) for label in bars.labels], fontsize=fontsize)
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
