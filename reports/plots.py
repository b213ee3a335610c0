"""Plots of result objects for a notebook: each takes a result and an optional ``ax``.

Every function draws on the matplotlib Axes it is given and returns it; with ``ax=None`` it makes
a :class:`matplotlib.figure.Figure` of its own (on an Agg canvas, never pyplot's current figure),
so a notebook keeps its backend and its open figures. In a notebook with the inline backend,
``ax.figure`` as a cell's last expression shows such a figure; ``ax.figure.savefig(...)`` saves
it; to draw into a pyplot figure instead, pass ``ax=plt.subplots()[1]``.

A one-case plot picks the case with ``case=`` (a position, negative counts from the end) and
titles itself with the case header (formulation and property), so ``waterfall(ex, case=3)`` and
``waterfall(ex[3])`` draw the same.

The results are read through their fields only (no analysis here):

- :class:`xai.attribution.results.Attribution`: :func:`waterfall`, :func:`importance`,
  :func:`dependence`
- :class:`xai.attribution.interactions.Interactions`: :func:`interactions`
- :class:`xai.attention.maps.AttentionMaps`: :func:`attention`
- :class:`xai.representation.embeddings.Geometry`: :func:`distances`

Attributions and interactions are in the model's standardised output units. Names are user
data and are drawn as written: a ``$`` never starts mathtext.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports.figures.base import NEUTRAL, plain, shorten
from reports.figures.draw import fitted_range, heatmap, waterfall_bars

if TYPE_CHECKING:
    from xai.attention.maps import AttentionMaps
    from xai.attribution.interactions import Interactions
    from xai.attribution.results import Attribution
    from xai.representation.embeddings import Geometry

__all__ = ["attention", "dependence", "distances", "importance", "interactions", "waterfall"]

UNITS = "model units"
METHODS = {"ig": "Integrated Gradients", "shapley": "Shapley"}
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f")


def waterfall(attribution: Attribution, *, case: int = 0, ax: Axes | None = None,
              top: int = 12) -> Axes:
    """One case's attributions as a waterfall from f(every ingredient absent) to f(recipe).

    Ingredients are sorted by |attribution|, largest on top; past ``top`` the rest are pooled
    into one bar. Slots that are not players (padding, a balance ingredient) are left out.
    """
    i = _case(attribution, case)
    names = attribution.ingredients[i]
    values = np.asarray(attribution.values[i, : len(names)], dtype=float)
    players = np.flatnonzero(np.isfinite(values))
    baseline, prediction = float(attribution.baseline[i]), float(attribution.prediction[i])
    ax = _axes(ax, 6.4, 0.26 * (min(len(players), top) + 3) + 1.0)
    waterfall_bars(ax, [names[p] for p in players], values[players], baseline, prediction,
                   top=top, start_label=f"f(no ingredient) = {baseline:.3g}",
                   end_label=f"f(recipe) = {prediction:.3g}", width=24)
    ax.set_xlabel(f"prediction ({UNITS})")
    ax.set_title(plain(f"{_header(attribution, i)}: {_method(attribution)} waterfall"))
    return ax


def importance(attribution: Attribution, *, ax: Axes | None = None, top: int = 15,
               color: str = NEUTRAL) -> Axes:
    """Mean |attribution| per ingredient over the cases holding it as a player, the ``top``
    largest as bars. With one property that property's importance; with several, the cases of
    every property pooled (attributions are in each property's own units: prefer
    ``importance(ex.select(properties=[...]))`` to compare within one)."""
    total: dict[str, float] = defaultdict(float)
    seen: dict[str, int] = defaultdict(int)
    for i, names in enumerate(attribution.ingredients):
        row = np.asarray(attribution.values[i, : len(names)], dtype=float)
        for name, value in zip(names, row, strict=True):
            if np.isfinite(value):
                total[name] += abs(float(value))
                seen[name] += 1
    mean = {name: total[name] / seen[name] for name in total}
    ranked = sorted(mean, key=lambda name: (-mean[name], name))[:top]
    ax = _axes(ax, 6.4, 0.22 * len(ranked) + 1.2)
    y = np.arange(len(ranked))
    ax.barh(y, [mean[name] for name in ranked], color=color)
    ax.set_yticks(y, [shorten(name, 24) for name in ranked])
    ax.invert_yaxis()
    ax.set_xlabel(f"mean |{_method(attribution)}| ({UNITS})")
    properties = sorted(set(attribution.properties))
    scope = (properties[0] if len(properties) == 1
             else f"{len(properties)} properties pooled")
    ax.set_title(plain(f"{scope}: importance over {len(attribution)} cases"))
    return ax


def dependence(attribution: Attribution, ingredient: str, *, ax: Axes | None = None) -> Axes:
    """An ingredient's attribution against its amount (in the data's units), one dot per case
    holding it as a player, one colour per property.

    Raises ValueError when no case holds ``ingredient`` as a player.
    """
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for i, names in enumerate(attribution.ingredients):
        for slot, name in enumerate(names):
            value = float(attribution.values[i, slot])
            if name == ingredient and np.isfinite(value):
                points[attribution.properties[i]].append(
                    (float(attribution.raw_amounts[i][slot]), value))
    if not points:
        raise ValueError(f"no case holds {ingredient!r} as a player")
    ax = _axes(ax, 5.2, 3.4)
    for k, prop in enumerate(sorted(points)):
        xy = np.asarray(points[prop])
        ax.scatter(xy[:, 0], xy[:, 1], s=14, alpha=0.75, linewidths=0,
                   color=COLOURS[k % len(COLOURS)], label=plain(prop))
    ax.axhline(0.0, color=NEUTRAL, lw=0.6)
    n = sum(len(p) for p in points.values())
    ax.set_xlabel(plain(f"amount of {ingredient}"))
    ax.set_ylabel(f"{_method(attribution)} ({UNITS})")
    ax.set_title(plain(f"{ingredient}: attribution against amount ({n} cases)"))
    if len(points) > 1:
        ax.legend(title="property", fontsize="small")
    return ax


def interactions(interactions: Interactions, *, case: int = 0, ax: Axes | None = None,
                 cmap: str = "RdBu_r") -> Axes:
    """One case's pairwise interactions as a heatmap over its players: each cell the whole
    interaction of a pair (``values[a, b] + values[b, a]``), the diagonal (main effects) left
    blank, the colour scale symmetric about 0. A case with too many players to enumerate says
    so on the Axes."""
    i = _case(interactions, case)
    names = interactions.ingredients[i]
    block = np.asarray(interactions.values[i, : len(names), : len(names)], dtype=float)
    players = np.flatnonzero(~np.all(np.isnan(block), axis=1))
    ax = _axes(ax, 5.6, 4.6)
    ax.set_title(plain(f"{_header(interactions, i)}: pairwise interactions"))
    if len(players) < 2:
        ax.text(0.5, 0.5, "no interaction values for this case\n(too many players to "
                "enumerate, or fewer than two)", ha="center", va="center",
                transform=ax.transAxes, color=NEUTRAL)
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    pairs = block[np.ix_(players, players)]
    pairs = pairs + pairs.T  # (n, n) whole-pair interaction
    np.fill_diagonal(pairs, np.nan)
    largest = np.nanmax(np.abs(pairs))
    largest = float(largest) if np.isfinite(largest) and largest > 0 else 1.0
    labels = [names[p] for p in players]
    heatmap(ax, pairs, labels, labels, cmap=cmap, vmin=-largest, vmax=largest,
            label=f"pair interaction ({UNITS})")
    return ax


def attention(attention_maps: AttentionMaps, *, case: int = 0, layer: int = -1,
              head: int | None = None, ax: Axes | None = None, cmap: str = "viridis") -> Axes:
    """One case's attention map of one layer (heads averaged, or one ``head``): query tokens in
    rows, the tokens they attend to in columns, token 0 the property token. The colour scale
    spans the map's own smallest to largest weight."""
    i = _case(attention_maps, case)
    tokens = attention_maps.tokens[i]
    weights = np.asarray(attention_maps.weights[i])  # (L, H, T+1, T+1)
    n_layers, n_heads = weights.shape[:2]
    layer = _position(layer, n_layers, "layer")
    s = len(tokens)
    if head is None:
        matrix, which = weights[layer, :, :s, :s].mean(0), "heads averaged"
    else:
        h = _position(head, n_heads, "head")
        matrix, which = weights[layer, h, :s, :s], f"head {h + 1} of {n_heads}"
    ax = _axes(ax, 5.6, 4.8)
    lo, hi = fitted_range(matrix)
    heatmap(ax, matrix, tokens, tokens, cmap=cmap, vmin=lo, vmax=hi, label="attention weight")
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.set_title(plain(f"{_header(attention_maps, i)}: layer {layer + 1} of {n_layers}, "
                       f"{which}"))
    return ax


def distances(geometry: Geometry, *, metric: str | None = None, ax: Axes | None = None,
              label_limit: int = 60, cmap: str = "magma_r") -> Axes:
    """An embedding table's pairwise distances as a heatmap, rows and columns in dendrogram
    order (so clusters show as blocks on the diagonal); names as tick labels up to
    ``label_limit`` rows, rare rows' names in grey."""
    metric = metric or geometry.metric
    if metric not in ("l2", "cosine"):
        raise ValueError(f"metric must be l2 or cosine, not {metric!r}")
    d = np.asarray(geometry.l2 if metric == "l2" else geometry.cosine, dtype=float)
    n = len(geometry.names)
    order = np.asarray(geometry.hierarchy.leaf_order, dtype=int) if n > 1 else np.arange(n)
    if len(order) != n:
        order = np.arange(n)
    names = [geometry.names[k] for k in order] if n <= label_limit else []
    ax = _axes(ax, 6.4, 5.6)
    heatmap(ax, d[np.ix_(order, order)], names, names, cmap=cmap, vmin=0.0,
            vmax=float(np.nanmax(d)) if n and np.nanmax(d) > 0 else 1.0,
            label=f"{metric} distance", width=22)
    rare = np.asarray(geometry.rare, dtype=bool)[order] if len(geometry.rare) == n else None
    if names and rare is not None:
        for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
            for tick, is_rare in zip(ticks, rare, strict=True):
                if is_rare:
                    tick.set_color("#9a9a9a")
    if not names:
        ax.set_xlabel(f"{n} rows in dendrogram order")
    ax.set_title(f"{metric} distances between {n} vectors, dendrogram order")
    return ax


def _axes(ax: Axes | None, width: float, height: float) -> Axes:
    """``ax``, or the one Axes of a new Figure of ``width`` x ``height`` inches (capped)."""
    if ax is not None:
        return ax
    fig = Figure(figsize=(width, min(max(height, 2.4), 12.0)), layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _case(result, case: int) -> int:
    """``case`` as a position in ``result`` (negative counts from the end)."""
    return _position(case, len(result), "case")


def _position(index: int, size: int, what: str) -> int:
    index = operator.index(index)
    if not -size <= index < size:
        raise IndexError(f"{what} {index} out of range for {size} {what}s")
    return index % size


def _header(result, i: int) -> str:
    """Case i's header: formulation and property."""
    return f"{result.formulation_ids[i]} \u2013 {result.properties[i]}"


def _method(attribution) -> str:
    return METHODS.get(attribution.method, attribution.method)
