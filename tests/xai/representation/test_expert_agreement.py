"""Agreement with expert groups: permutation tests, Mantel, purity, corrections."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kstest

from xai.representation.embeddings import distance_matrix
from xai.representation.expert_agreement import (
    adjust_pvalues,
    expert_distance_matrix,
    group_agreement,
    knn_purity,
    mantel,
    permanova,
)


def grouped_points(n_per=6, k=3, shift=3.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 4)) * shift
    x = np.repeat(centres, n_per, axis=0) + rng.normal(size=(k * n_per, 4))
    return x, np.repeat([f"g{i}" for i in range(k)], n_per)


def test_permanova_rejects_planted_groups():
    x, groups = grouped_points()
    test = permanova(distance_matrix(x), groups, n_permutations=499, seed=0)
    assert test.p_value == pytest.approx(1 / 500)
    assert test.ratio < 0.7
    assert test.n_items == 18 and test.n_groups == 3


def test_permanova_pseudo_f_matches_definition():
    x, groups = grouped_points(n_per=4, k=3, seed=5)
    d = distance_matrix(x)
    n, g = len(groups), 3
    total = np.sum(np.triu(d**2, 1)) / n
    within = sum(np.sum(np.triu(d[np.ix_(rows, rows)] ** 2, 1)) / len(rows)
                 for rows in (np.flatnonzero(groups == lab) for lab in np.unique(groups)))
    expected = ((total - within) / (g - 1)) / (within / (n - g))
    assert permanova(d, groups, n_permutations=9).statistic == pytest.approx(expected)


def test_permanova_false_positive_rate_near_nominal():
    p = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(15, 3))
        groups = rng.permutation(np.repeat(["a", "b", "c"], 5))
        p.append(permanova(distance_matrix(x), groups, n_permutations=199, seed=seed).p_value)
    p = np.array(p)
    # 5 expected at the 5% level; 12 or more would happen with probability < 0.001
    assert np.sum(p < 0.05) <= 11
    assert kstest(p, "uniform").pvalue > 0.001


def test_permanova_needs_groups():
    with pytest.raises(ValueError, match="2 groups"):
        permanova(np.zeros((3, 3)), ["a", "a", "a"])


def test_mantel_detects_related_matrices_and_not_unrelated():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    a = distance_matrix(x)
    related = distance_matrix(x + 0.3 * rng.normal(size=x.shape))
    unrelated = distance_matrix(rng.normal(size=(20, 3)))
    for method in ("pearson", "spearman"):
        hit = mantel(a, related, method=method, n_permutations=299, seed=1)
        assert hit.statistic > 0.7 and hit.p_value < 0.01
        miss = mantel(a, unrelated, method=method, n_permutations=299, seed=1)
        assert abs(miss.statistic) < 0.3 and miss.p_value > 0.05
    iu = np.triu_indices(20, 1)
    assert mantel(a, related, method="pearson", n_permutations=9).statistic == pytest.approx(
        np.corrcoef(a[iu], related[iu])[0, 1])


def test_mantel_skips_unrated_pairs():
    rng = np.random.default_rng(2)
    a = distance_matrix(rng.normal(size=(12, 2)))
    b = a.copy()
    b[0, 5] = b[5, 0] = np.nan
    b[1, 2] = b[2, 1] = 100.0
    full = mantel(a, b, method="spearman", n_permutations=99)
    assert full.n_pairs == 66 - 1
    assert full.statistic > 0.9


def test_knn_purity_and_chance():
    x, groups = grouped_points(n_per=5, k=4, shift=10.0)
    purity, chance = knn_purity(distance_matrix(x), groups, k=3)
    assert purity == 1.0
    assert chance == pytest.approx(4 * 5 * 4 / (20 * 19))


def test_group_agreement_uses_only_grouped_names():
    x, groups = grouped_points(n_per=5, k=3, shift=10.0)
    names = [f"I{i}" for i in range(len(x))]
    expert = {n: g for n, g in zip(names, groups, strict=True) if n != "I0"}
    labels = np.repeat([0, 1, 2], 5)
    result = group_agreement(distance_matrix(x), labels, names, expert, n_permutations=99)
    assert result.names == tuple(names[1:])
    assert result.ari == 1.0 and result.nmi == pytest.approx(1.0)
    assert result.permanova.p_value == pytest.approx(0.01)
    assert group_agreement(distance_matrix(x), labels, names, {"I0": "a"}) is None


def test_expert_distance_matrix():
    order, m = expert_distance_matrix(
        [("b", "a", 1.0), ("a", "b", 3.0), ("a", "c", 5.0), ("x", "a", 9.0)], ["a", "b", "c", "d"])
    assert order == ("a", "b", "c")
    assert m[0, 1] == m[1, 0] == 2.0
    assert m[0, 2] == 5.0 and np.isnan(m[1, 2]) and np.all(np.diag(m) == 0)


def test_adjust_pvalues():
    p = [0.01, None, 0.04, 0.03, np.nan]
    holm = adjust_pvalues(p, method="holm")
    assert np.allclose(holm[[0, 2, 3]], [0.03, 0.06, 0.06])
    assert np.isnan(holm[1]) and np.isnan(holm[4])
    bh = adjust_pvalues(p, method="bh")
    assert np.allclose(bh[[0, 2, 3]], [0.03, 0.04, 0.04])
    assert np.all(adjust_pvalues([0.5, 0.9], method="holm") <= 1.0)


def test_group_agreement_frame():
    x, groups = grouped_points(n_per=5, k=3, shift=10.0)
    names = [f"I{i}" for i in range(len(x))]
    expert = {n: g for n, g in zip(names, groups, strict=True) if n != "I0"}
    result = group_agreement(distance_matrix(x), np.repeat([0, 1, 2], 5), names, expert,
                             n_permutations=99)
    frame = result.to_frame()
    assert frame["name"].tolist() == names[1:]
    assert frame["group"].tolist() == [expert[n] for n in names[1:]]
