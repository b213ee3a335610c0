"""Geometry of a learned embedding table: distances, clusterings and a 2-D layout.

The Mixer learns one vector per ingredient (``mixer.ingredient_table()``) and one task vector per
property (``mixer.property_table()``). Whether similar things get similar vectors is read off their
pairwise distances: a hierarchical clustering orders the rows of a distance heatmap (and gives a
dendrogram), a flat clustering with the number of clusters chosen by silhouette can be compared
with expert groups, and a 2-D layout (UMAP, or PCA for tables too small for UMAP) places them on a
page. Rows seen in only a few training recipes are marked rare: their vectors barely moved from
initialisation and weight decay, so their position says little.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from models.numba_cache import UMAP_MODULES, cache_compiled

if TYPE_CHECKING:
    import pandas as pd

METRICS = ("l2", "cosine")
LINKAGES = ("average", "complete", "single", "ward")
MIN_UMAP_ROWS = 20  # below this, a neighbour graph covers most of the table


@dataclass(frozen=True)
class Hierarchy:
    """A hierarchical clustering of n rows.

    ``linkage`` is scipy's (n-1, 4) linkage matrix (for a dendrogram); ``leaf_order`` (n,) the row
    order that puts merged rows next to each other (for a heatmap).
    """

    linkage: np.ndarray
    leaf_order: np.ndarray
    method: str


@dataclass(frozen=True)
class FlatClustering:
    """Cluster labels (n,) from cutting a hierarchy into ``k`` clusters, ``k`` chosen by the
    best silhouette among ``scores`` ({k: silhouette})."""

    labels: np.ndarray
    k: int
    silhouette: float
    scores: dict[int, float]


@dataclass(frozen=True)
class Layout:
    """2-D coordinates (n, 2) and how they were made (``umap`` or ``pca``), with a note saying
    why when PCA stood in for UMAP."""

    coords: np.ndarray
    method: str
    note: str = ""
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Geometry:
    """Everything about one embedding table, rows labelled by ``names``.

    ``l2`` and ``cosine`` are (n, n) distance matrices in the table's own units; clustering and
    layout use ``metric``. ``counts`` (n,) is how many training recipes hold each row (ingredients
    only; -1 where unknown) and ``rare`` (n,) marks rows seen in fewer than ``rare_threshold``.
    """

    names: tuple[str, ...]
    vectors: np.ndarray
    l2: np.ndarray
    cosine: np.ndarray
    metric: str
    hierarchy: Hierarchy
    clusters: FlatClustering
    layout: Layout | None
    counts: np.ndarray
    rare: np.ndarray
    rare_threshold: int

    def distances(self, metric: str | None = None) -> np.ndarray:
        """The (n, n) distance matrix for ``metric`` (default: the one clustered on)."""
        metric = metric or self.metric
        _check_metric(metric)
        return self.l2 if metric == "l2" else self.cosine

    def to_dict(self) -> dict:
        """JSON-ready summary; the distance matrices are left out (they are written as CSV)."""
        return {
            "names": list(self.names),
            "metric": self.metric,
            "linkage_method": self.hierarchy.method,
            "linkage": self.hierarchy.linkage.tolist(),
            "leaf_order": self.hierarchy.leaf_order.tolist(),
            "clusters": {
                "labels": self.clusters.labels.tolist(),
                "k": self.clusters.k,
                "silhouette": self.clusters.silhouette,
                "silhouette_by_k": {str(k): v for k, v in self.clusters.scores.items()},
            },
            "layout": None if self.layout is None else {
                "method": self.layout.method,
                "note": self.layout.note,
                "coords": self.layout.coords.tolist(),
                "settings": dict(self.layout.settings),
            },
            "training_counts": self.counts.tolist(),
            "rare": [n for n, r in zip(self.names, self.rare, strict=True) if r],
            "rare_threshold": self.rare_threshold,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per table row (an ingredient or a property, not a case): ``name``,
        ``cluster``, ``training_count``, ``rare`` and the 2-D layout ``x``, ``y`` (NaN without
        a layout). The distance matrices are ``l2`` / ``cosine``."""
        import pandas as pd

        coords = (self.layout.coords if self.layout is not None
                  else np.full((len(self.names), 2), np.nan))
        return pd.DataFrame({"name": list(self.names), "cluster": self.clusters.labels,
                             "training_count": self.counts, "rare": self.rare,
                             "x": coords[:, 0], "y": coords[:, 1]})


def distance_matrix(vectors: np.ndarray, *, metric: str = "l2") -> np.ndarray:
    """(n, n) pairwise distances between the rows of ``vectors`` (n, d).

    ``l2`` is the Euclidean distance; ``cosine`` is 1 - cosine similarity (0 for parallel, 2 for
    opposite vectors; a zero vector is at distance 1 from everything else). The result is exactly
    symmetric with a zero diagonal.
    """
    _check_metric(metric)
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"vectors must be (n, d), got shape {x.shape}")
    if metric == "l2":
        sq = np.sum(x * x, axis=1)
        d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0))
    else:
        norms = np.linalg.norm(x, axis=1)
        unit = x / np.where(norms > 0, norms, 1.0)[:, None]
        d = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    return d


def hierarchical_clustering(distances: np.ndarray, *, method: str = "average") -> Hierarchy:
    """Agglomerative clustering of a distance matrix, with the optimal leaf order.

    ``ward`` assumes Euclidean distances; use it with ``l2`` only.
    """
    if method not in LINKAGES:
        raise ValueError(f"linkage method must be one of {LINKAGES}, not {method!r}")
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    if n < 2:
        return Hierarchy(np.zeros((0, 4)), np.arange(n), method)
    condensed = squareform(d, checks=False)
    z = linkage(condensed, method=method)
    if n > 2:
        z = optimal_leaf_ordering(z, condensed)
    return Hierarchy(z, leaves_list(z).astype(np.int64), method)


def flat_clustering(
    distances: np.ndarray, hierarchy: Hierarchy, *, max_k: int = 20
) -> FlatClustering:
    """Cut ``hierarchy`` into k = 2..max_k clusters and keep the k with the best silhouette.

    With fewer than 3 rows (no silhouette defined) every row is its own cluster.
    """
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    if n < 3:
        return FlatClustering(np.arange(n), n, float("nan"), {})
    scores: dict[int, float] = {}
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(2, min(max_k, n - 1) + 1):
        labels = cut_tree(hierarchy, k)
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(d, labels, metric="precomputed"))
        scores[k] = score
        if best is None or score > best[0]:
            best = (score, k, labels)
    if best is None:
        return FlatClustering(np.zeros(n, dtype=np.int64), 1, float("nan"), scores)
    return FlatClustering(best[2], best[1], best[0], scores)


def cut_tree(hierarchy: Hierarchy, k: int) -> np.ndarray:
    """(n,) labels 0..k-1 from cutting ``hierarchy`` into at most ``k`` clusters."""
    if len(hierarchy.linkage) == 0:
        return np.arange(len(hierarchy.leaf_order))
    return fcluster(hierarchy.linkage, t=k, criterion="maxclust").astype(np.int64) - 1


def layout_2d(
    vectors: np.ndarray,
    *,
    seed: int,
    metric: str = "l2",
    method: str = "auto",
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> Layout:
    """A 2-D layout of the rows of ``vectors`` (n, d).

    ``auto`` uses UMAP (seeded, ``n_neighbors`` capped at n - 1) and falls back to PCA, saying so,
    when the table has fewer than ``MIN_UMAP_ROWS`` rows (a property table, say): UMAP's
    neighbour graph means little on a handful of points. UMAP compiles with numba on first use,
    which takes several seconds once per machine (:mod:`models.numba_cache`).
    """
    x = np.asarray(vectors, dtype=np.float64)
    n = x.shape[0]
    if method not in ("auto", "umap", "pca"):
        raise ValueError(f"layout method must be auto, umap or pca, not {method!r}")
    _check_metric(metric)
    if method == "pca" or (method == "auto" and n < MIN_UMAP_ROWS):
        note = "" if method == "pca" else (
            f"PCA, not UMAP: {n} rows are too few for UMAP (needs at least {MIN_UMAP_ROWS})")
        return Layout(_pca_2d(x), "pca", note, {})
    import umap  # slow import (numba), only when a UMAP layout is asked for

    cache_compiled(*UMAP_MODULES)

    k = max(2, min(n_neighbors, n - 1))
    reducer = umap.UMAP(n_neighbors=k, n_components=2, min_dist=min_dist,
                        metric="euclidean" if metric == "l2" else "cosine", random_state=seed,
                        init="spectral" if n > k + 1 else "random", n_jobs=1)
    coords = np.asarray(reducer.fit_transform(x), dtype=np.float64)
    return Layout(coords, "umap", "",
                  {"n_neighbors": k, "min_dist": min_dist, "metric": metric, "seed": seed})


def training_counts(
    recipes: Iterable[Sequence[str]], names: Sequence[str]
) -> np.ndarray:
    """(n,) number of recipes (each a sequence of ingredient codes) holding each of ``names``."""
    counter: Counter[str] = Counter()
    for codes in recipes:
        counter.update(set(codes))
    return np.array([counter.get(name, 0) for name in names], dtype=np.int64)


def embedding_geometry(
    vectors: np.ndarray,
    names: Sequence[str],
    *,
    seed: int,
    metric: str = "cosine",
    linkage_method: str = "average",
    max_k: int = 20,
    counts: np.ndarray | None = None,
    rare_threshold: int = 5,
    layout: str | None = "auto",
) -> Geometry:
    """Distances, hierarchy, flat clustering and layout of one embedding table.

    Parameters
    ----------
    vectors : (n, d) one row per name.
    names : labels of the rows.
    seed : seeds the layout.
    metric : ``l2`` or ``cosine``, the distance clustered and laid out on.
    linkage_method : scipy linkage method (``ward`` needs ``l2``).
    max_k : largest number of flat clusters tried.
    counts : (n,) training recipes per row; rows below ``rare_threshold`` are marked rare.
    layout : ``auto``, ``umap``, ``pca``, or None for no layout.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != len(names):
        raise ValueError(f"vectors {x.shape} do not match {len(names)} names")
    _check_metric(metric)
    if linkage_method == "ward" and metric != "l2":
        raise ValueError("ward linkage needs the l2 metric")
    l2 = distance_matrix(x, metric="l2")
    cos = distance_matrix(x, metric="cosine")
    d = l2 if metric == "l2" else cos
    hierarchy = hierarchical_clustering(d, method=linkage_method)
    counts = (np.full(len(names), -1, dtype=np.int64) if counts is None
              else np.asarray(counts, dtype=np.int64))
    return Geometry(
        names=tuple(names),
        vectors=x,
        l2=l2,
        cosine=cos,
        metric=metric,
        hierarchy=hierarchy,
        clusters=flat_clustering(d, hierarchy, max_k=max_k),
        layout=None if layout is None else layout_2d(x, seed=seed, metric=metric, method=layout),
        counts=counts,
        rare=(counts >= 0) & (counts < rare_threshold),
        rare_threshold=rare_threshold,
    )


def _pca_2d(x: np.ndarray) -> np.ndarray:
    n, d = x.shape
    coords = np.zeros((n, 2))
    if n >= 2:
        k = min(2, n, d)
        coords[:, :k] = PCA(n_components=k, svd_solver="full").fit_transform(x)
    return coords


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
