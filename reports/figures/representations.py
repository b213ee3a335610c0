"""Figures of the embedding tables: distance heatmaps ordered by the dendrogram, 2-D layouts
coloured by expert group, and learning curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from scipy.cluster.hierarchy import dendrogram

from reports.figures.base import NEUTRAL, POSITIVE, new_figure, plain, shorten, styled
from reports.palette import Palette


@styled
def distance_heatmap(distances: Sequence[Sequence[float]], names: Sequence[str],
                     linkage: Sequence[Sequence[float]], leaf_order: Sequence[int],
                     colour_of: Mapping[str, str], *, metric: str, title: str,
                     legend: Sequence[tuple[str, str]] = (), label_limit: int = 40) -> Figure:
    """Pairwise distances with rows and columns in dendrogram order, the dendrogram above and a
    strip of group colours on the left. Names are shown when there are at most ``label_limit``."""
    d = np.asarray(distances, dtype=float)
    order = np.asarray(leaf_order, dtype=int)
    n = len(order)
    labelled = n <= label_limit
    fig = new_figure(width=6.4 if labelled else 6.0, height=6.2 if labelled else 5.8)
    grid = fig.add_gridspec(2, 3, width_ratios=[0.2, 0.15, 8], height_ratios=[1.2, 8],
                            wspace=0.01, hspace=0.01)
    top = fig.add_subplot(grid[0, 2])
    strip = fig.add_subplot(grid[1, 1])
    main = fig.add_subplot(grid[1, 2])
    z = np.asarray(linkage, dtype=float)
    if len(z):
        dendrogram(z, ax=top, no_labels=True, color_threshold=0, above_threshold_color=NEUTRAL,
                   link_color_func=lambda _: NEUTRAL)
    top.set_axis_off()
    image = main.imshow(d[np.ix_(order, order)], cmap="magma_r", aspect="auto",
                        interpolation="nearest")
    colours = [colour_of.get(names[i], "#b0b0b0") for i in order]
    unique = list(dict.fromkeys(colours))
    strip.imshow(np.array([[unique.index(c)] for c in colours]), aspect="auto",
                 cmap=ListedColormap(unique), interpolation="nearest")
    strip.set_xticks([])
    strip.set_yticks([])
    if labelled:
        labels = [shorten(names[i], 22) for i in order]
        main.set_xticks(range(n), labels, rotation=90, fontsize=7)
        main.yaxis.tick_right()
        main.set_yticks(range(n), labels, fontsize=7)
    else:
        main.set_xticks([])
        main.set_yticks([])
        main.set_xlabel(f"{n} rows in dendrogram order (names in results.json)")
    fig.colorbar(image, ax=main, location="bottom", shrink=0.5, pad=0.02 if not labelled else 0.2,
                 label=f"{metric} distance")
    if legend:
        fig.legend(handles=[Patch(color=c, label=plain(g)) for g, c in legend],
                   loc="outside right upper", fontsize=7)
    fig.suptitle(plain(title), fontsize=9)
    return fig


@styled
def layout_scatter(coords: Sequence[Sequence[float]], names: Sequence[str], palette: Palette,
                   *, groups: Mapping[str, str], rare: Sequence[str] = (), method: str,
                   title: str, label_limit: int = 30) -> Figure:
    """2-D layout of an embedding table, one colour per expert group; rare rows hollow."""
    xy = np.asarray(coords, dtype=float)
    fig = new_figure(width=6.4, height=4.4)
    ax = fig.add_subplot()
    rare_set = set(rare)
    group_names = sorted({groups.get(n, "ungrouped") for n in names})
    for g in group_names:
        rows = [i for i, n in enumerate(names) if groups.get(n, "ungrouped") == g]
        solid = [i for i in rows if names[i] not in rare_set]
        hollow = [i for i in rows if names[i] in rare_set]
        colour = palette.group_colour(g)
        if solid:
            ax.scatter(xy[solid, 0], xy[solid, 1], s=28, color=colour, label=plain(g),
                       edgecolors="white", linewidths=0.4)
        if hollow:
            ax.scatter(xy[hollow, 0], xy[hollow, 1], s=28, facecolors="none", edgecolors=colour,
                       linewidths=1.0, label=None if solid else plain(g))
    if len(names) <= label_limit:
        for i, name in enumerate(names):
            ax.annotate(shorten(name, 20), xy[i], xytext=(3, 3), textcoords="offset points",
                        fontsize=7, color=NEUTRAL)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{method.upper()} 1")
    ax.set_ylabel(f"{method.upper()} 2")
    ax.set_title(plain(title), loc="left")
    fig.legend(loc="outside right upper", fontsize=7, title_fontsize=7,
               title="group (hollow: rare)" if rare_set else "group")
    return fig


@styled
def loss_curves(epochs: Sequence[int], train: Sequence[float | None],
                validation: Sequence[float | None], best_epoch: int | None) -> Figure:
    """Training and validation loss (standardised MSE) per epoch, the best epoch marked."""
    fig = new_figure(height=2.6)
    ax = fig.add_subplot()
    x = np.asarray(epochs, dtype=float)
    t = np.array([np.nan if v is None else v for v in train], dtype=float)
    v = np.array([np.nan if v is None else v for v in validation], dtype=float)
    ax.plot(x, t, color="#0072b2", label="training")
    ax.plot(x, v, color="#e69f00", label="validation")
    if best_epoch is not None:
        ax.axvline(best_epoch, color=POSITIVE, lw=0.8, ls="--", label=f"best epoch {best_epoch}")
    positive = np.concatenate([t[np.isfinite(t)], v[np.isfinite(v)]])
    if len(positive) and np.all(positive > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error (model units)")
    ax.legend()
    return fig


@styled
def separation_curves(epochs: Sequence[int], series: Mapping[str, Sequence[float | None]],
                      *, ylabel: str) -> Figure:
    """One line per table of a per-snapshot statistic (e.g. within / between distance)."""
    fig = new_figure(height=2.4)
    ax = fig.add_subplot()
    colours = ["#0072b2", "#e69f00", "#009e73"]
    for i, (name, values) in enumerate(series.items()):
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        ax.plot(np.asarray(epochs, dtype=float), y, marker="o", ms=3, label=plain(name),
                color=colours[i % len(colours)])
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


@styled
def donor_strip(per_ingredient: Sequence[Mapping], kinds: Sequence[str]) -> Figure:
    """Mean |prediction change| per tested ingredient (pooled over properties, model units),
    one column per donor kind; random donors are the null."""
    fig = new_figure(height=2.8)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)  # horizontal jitter only; the values are exact
    colours = {"expert": "#009e73", "nearest": "#0072b2", "same_group": "#cc79a7",
               "random": "#7f7f7f"}
    for k, kind in enumerate(kinds):
        values = np.array([r["mean_abs_change"] for r in per_ingredient
                           if r["donor_kind"] == kind and r["mean_abs_change"] is not None])
        values = values[values > 0]
        if not len(values):
            continue
        ax.scatter(k + rng.uniform(-0.15, 0.15, len(values)), values, s=10, alpha=0.7,
                   color=colours.get(kind, NEUTRAL))
        ax.plot([k - 0.25, k + 0.25], [np.median(values)] * 2, color="black", lw=1.2)
    ax.set_xticks(range(len(kinds)), [k.replace("_", " ") for k in kinds])
    ax.set_yscale("log")
    ax.set_ylabel("mean |prediction change| (model units)")
    ax.set_xlabel("donor kind (bar: median)")
    return fig
