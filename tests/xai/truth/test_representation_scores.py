import numpy as np
import pytest

from xai.representation.embeddings import embedding_geometry
from xai.truth.representation_scores import truth_scores


def clustered(names_by_family: dict[str, list[str]], seed=0):
    """Vectors in tight, well separated clusters, one per family."""
    rng = np.random.default_rng(seed)
    names, rows = [], []
    for k, members in enumerate(names_by_family.values()):
        centre = np.zeros(6)
        centre[k] = 10.0
        for name in members:
            names.append(name)
            rows.append(centre + rng.normal(0, 0.1, 6))
    return np.array(rows), names


def test_perfect_clusters_recover_the_families():
    families = {"oil": ["a", "b", "c", "d"], "gum": ["e", "f", "g"], "acid": ["h", "i", "j"]}
    vectors, names = clustered(families)
    counts = np.array([10] * (len(names) - 1) + [1])  # the last ingredient is rare
    g = embedding_geometry(vectors, names, seed=0, metric="l2", counts=counts, layout=None)
    truth = {"families": {n: f for f, members in families.items() for n in members},
             "property_groups": {}}
    scores = truth_scores(truth, g, g)
    family = scores["family_recovery"]
    assert family["n"] == 10 and family["n_frequent"] == 9 and family["n_true"] == 3
    assert family["ari"] == pytest.approx(1.0)
    assert family["ari_at_true_k"] == pytest.approx(1.0)
    assert scores["property_group_recovery"] == {"n": 0, "ari": None}


def test_scrambled_labels_score_near_zero():
    families = {"oil": list("abcdef"), "gum": list("ghijkl")}
    vectors, names = clustered(families)
    g = embedding_geometry(vectors, names, seed=0, metric="l2", layout=None)
    mixed = {n: ("x" if i % 2 else "y") for i, n in enumerate(names)}
    scores = truth_scores({"families": mixed}, g, g)
    assert scores["family_recovery"]["ari_at_true_k"] < 0.2
