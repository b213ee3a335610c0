"""Embedding geometry: distances, clusterings and layouts on planted clusters."""

from __future__ import annotations

import numpy as np
import pytest

from xai.representation.embeddings import (
    cut_tree,
    distance_matrix,
    embedding_geometry,
    flat_clustering,
    hierarchical_clustering,
    layout_2d,
    training_counts,
)


def planted(n_per: int = 8, k: int = 4, dim: int = 6, spread: float = 0.15, seed: int = 0):
    """k tight clusters of n_per points around random unit-scale centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 3.0
    x = np.repeat(centres, n_per, axis=0) + spread * rng.normal(size=(k * n_per, dim))
    return x, np.repeat(np.arange(k), n_per)


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_distance_matrix_symmetric_zero_diagonal(metric):
    x = np.random.default_rng(1).normal(size=(15, 7))
    d = distance_matrix(x, metric=metric)
    assert d.shape == (15, 15)
    assert np.array_equal(d, d.T)
    assert np.all(np.diag(d) == 0.0)
    assert np.all(d >= 0)


def test_distance_values():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [-2.0, 0.0], [0.0, 5.0]])
    l2 = distance_matrix(x, metric="l2")
    assert l2[0, 1] == pytest.approx(5.0)
    assert l2[2, 3] == pytest.approx(3.0)
    cos = distance_matrix(x, metric="cosine")
    assert cos[2, 3] == pytest.approx(2.0)  # opposite
    assert cos[2, 4] == pytest.approx(1.0)  # orthogonal
    assert cos[0, 1] == pytest.approx(1.0)  # zero vector: at distance 1
    assert cos[1, 4] == pytest.approx(1.0 - 4.0 / 5.0)


def test_cosine_ignores_scale():
    x = np.random.default_rng(2).normal(size=(5, 3))
    assert np.allclose(distance_matrix(x * [[1], [2], [3], [4], [5]], metric="cosine"),
                       distance_matrix(x, metric="cosine"))


def test_bad_metric():
    with pytest.raises(ValueError, match="metric"):
        distance_matrix(np.zeros((3, 2)), metric="manhattan")


@pytest.mark.parametrize("method", ["average", "ward"])
def test_hierarchy_recovers_planted_clusters(method):
    x, truth = planted()
    d = distance_matrix(x, metric="l2")
    h = hierarchical_clustering(d, method=method)
    assert h.linkage.shape == (len(x) - 1, 4)
    assert sorted(h.leaf_order.tolist()) == list(range(len(x)))
    # the leaf order keeps each planted cluster contiguous
    ordered = truth[h.leaf_order]
    assert np.count_nonzero(np.diff(ordered)) == 3
    labels = cut_tree(h, 4)
    assert len(set(zip(labels, truth, strict=True))) == 4


def test_flat_clustering_picks_planted_k():
    x, truth = planted(k=5, seed=3)
    d = distance_matrix(x, metric="l2")
    flat = flat_clustering(d, hierarchical_clustering(d), max_k=10)
    assert flat.k == 5
    assert flat.silhouette > 0.8
    assert set(flat.scores) == set(range(2, 11))
    assert len(set(zip(flat.labels, truth, strict=True))) == 5


def test_tiny_tables():
    d = distance_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    flat = flat_clustering(d, hierarchical_clustering(d))
    assert flat.labels.tolist() == [0, 1]
    g = embedding_geometry(np.array([[1.0, 0.0]]), ["a"], seed=0)
    assert g.clusters.k == 1 and g.layout.coords.shape == (1, 2)


def test_small_table_uses_pca_and_says_so():
    x, _ = planted(n_per=3, k=3)
    layout = layout_2d(x, seed=0)
    assert layout.method == "pca"
    assert "UMAP" in layout.note
    assert layout.coords.shape == (9, 2)


def test_geometry_marks_rare_and_serialises():
    x, _ = planted(n_per=4, k=3)
    names = [f"I{i}" for i in range(12)]
    counts = training_counts([names[:6], names[:6], names[:2], names[:2], names[:2]], names)
    assert counts[:2].tolist() == [5, 5] and counts[2] == 2 and counts[11] == 0
    g = embedding_geometry(x, names, seed=0, counts=counts, rare_threshold=5, layout="pca")
    assert g.rare.tolist() == [False, False] + [True] * 10
    out = g.to_dict()
    assert out["rare"] == names[2:]
    assert out["clusters"]["k"] == 3
    assert len(out["layout"]["coords"]) == 12
    assert np.array_equal(g.distances("l2"), g.l2)


@pytest.mark.slow
def test_umap_trustworthiness_on_planted_clusters():
    from sklearn.manifold import trustworthiness

    x, _ = planted(n_per=15, k=5, dim=16, spread=0.5, seed=4)
    layout = layout_2d(x, seed=0, metric="l2")
    assert layout.method == "umap"
    assert layout.settings["n_neighbors"] == 15
    assert trustworthiness(x, layout.coords, n_neighbors=5) >= 0.85


def test_geometry_frame_has_one_row_per_table_row():
    x, _ = planted(n_per=4, k=3)
    names = [f"I{i}" for i in range(12)]
    counts = np.arange(12)
    g = embedding_geometry(x, names, seed=0, counts=counts, rare_threshold=5, layout="pca")
    frame = g.to_frame()
    assert frame["name"].tolist() == names
    assert frame["cluster"].tolist() == g.clusters.labels.tolist()
    assert frame["rare"].tolist() == (counts < 5).tolist()
    np.testing.assert_allclose(frame[["x", "y"]].to_numpy(), g.layout.coords)
    no_layout = embedding_geometry(x, names, seed=0, layout=None).to_frame()
    assert no_layout["x"].isna().all()
