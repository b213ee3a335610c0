"""Does an embedding agree with what experts know? Cluster agreement and permutation tests.

Expert knowledge comes as groups (an ingredient's family from ``ingredients.csv``, a property's
group from ``properties.csv``) or as an expert distance between ingredients. Agreement is measured
three ways: the adjusted Rand index and normalised mutual information between a flat clustering
and the groups, the purity of each item's k nearest neighbours, and a PERMANOVA-style permutation
test of whether same-group items are closer than chance (pseudo-F of within- versus between-group
squared distances, Anderson 2001). An expert distance matrix is compared with the embedding
distances by a Mantel test. Both tests permute labels many times at once with numpy; scikit-bio
would add a heavy dependency tree for two short functions and loops over permutations in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial.distance import squareform
from scipy.stats import false_discovery_control, rankdata
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

if TYPE_CHECKING:
    import pandas as pd

CHUNK = 256  # permutations evaluated per vectorised step (bounds memory)


@dataclass(frozen=True)
class PermutationTest:
    """PERMANOVA of distances against group labels.

    ``statistic`` is the pseudo-F; ``p_value`` the fraction of label permutations with a pseudo-F
    at least as large (counting the observed labels). ``within`` / ``between`` are the mean
    distances of same-group and different-group pairs and ``ratio`` = within / between (below 1
    when groups are tight).
    """

    statistic: float
    p_value: float
    within: float
    between: float
    ratio: float
    n_items: int
    n_groups: int
    n_permutations: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MantelTest:
    """Correlation of two distance matrices over item pairs, with a permutation p-value
    (rows and columns of one matrix permuted together)."""

    statistic: float
    p_value: float
    method: str
    alternative: str
    n_items: int
    n_pairs: int
    n_permutations: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GroupAgreement:
    """Agreement of one embedding table with expert groups, over the ``names`` that have a
    group. ``knn_chance`` is the purity expected if groups were assigned at random."""

    names: tuple[str, ...]
    groups: tuple[str, ...]
    ari: float
    nmi: float
    knn_purity: float
    knn_chance: float
    k: int
    permanova: PermutationTest

    def to_dict(self) -> dict:
        return {
            "n_items": len(self.names),
            "n_groups": len(set(self.groups)),
            "ari": self.ari,
            "nmi": self.nmi,
            "knn_purity": self.knn_purity,
            "knn_chance": self.knn_chance,
            "k": self.k,
            "permanova": self.permanova.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per named item (not a case): ``name``, ``group``."""
        import pandas as pd

        return pd.DataFrame({"name": list(self.names), "group": list(self.groups)})


def permanova(
    distances: np.ndarray, groups: Sequence, *, n_permutations: int = 999, seed: int = 0
) -> PermutationTest:
    """Permutation test that items of the same group are closer than items of different groups.

    Parameters
    ----------
    distances : (n, n) symmetric distance matrix.
    groups : (n,) group label of each item; at least 2 groups and more items than groups.
    n_permutations : label shuffles for the null distribution.
    seed : seeds the shuffles.
    """
    d = np.asarray(distances, dtype=np.float64)
    codes, sizes = _codes(groups)
    n, g = len(codes), len(sizes)
    if d.shape != (n, n):
        raise ValueError(f"distances {d.shape} do not match {n} group labels")
    if g < 2 or n <= g:
        raise ValueError(f"need at least 2 groups and more items than groups (got {n} items, "
                         f"{g} groups)")
    d2 = d * d
    total = np.triu(d2, 1).sum() / n
    observed = _pseudo_f(d2, codes[None, :], sizes, total, n, g)[0]
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, n_permutations, CHUNK):
        m = min(CHUNK, n_permutations - start)
        shuffled = rng.permuted(np.tile(codes, (m, 1)), axis=1)
        f = _pseudo_f(d2, shuffled, sizes, total, n, g)
        exceed += int(np.sum(f >= observed - 1e-12 * abs(observed)))
    same = codes[:, None] == codes[None, :]
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    within = float(d[same & upper].mean()) if np.any(same & upper) else float("nan")
    between = float(d[~same & upper].mean())
    return PermutationTest(
        statistic=float(observed),
        p_value=(exceed + 1) / (n_permutations + 1),
        within=within,
        between=between,
        ratio=within / between if between > 0 else float("nan"),
        n_items=n,
        n_groups=g,
        n_permutations=n_permutations,
    )


def _pseudo_f(
    d2: np.ndarray, labels: np.ndarray, sizes: np.ndarray, total: float, n: int, g: int
) -> np.ndarray:
    """Pseudo-F (m,) for m label vectors (m, n) with group codes 0..g-1 of the given sizes."""
    onehot = (labels[:, :, None] == np.arange(g)).astype(np.float64)  # (m, n, g)
    spread = np.einsum("ij,mjg->mig", d2, onehot)  # (m, n, g) squared distance to each group
    within = 0.5 * np.einsum("mig,mig->mg", onehot, spread) @ (1.0 / sizes)  # (m,)
    between = total - within
    with np.errstate(divide="ignore", invalid="ignore"):
        return (between / (g - 1)) / (within / (n - g))


def mantel(
    a: np.ndarray,
    b: np.ndarray,
    *,
    method: str = "spearman",
    alternative: str = "greater",
    n_permutations: int = 999,
    seed: int = 0,
) -> MantelTest:
    """Mantel test between two (n, n) distance matrices over the same items.

    NaN entries (pairs an expert did not rate) are left out of each correlation. ``method`` is
    ``pearson`` or ``spearman``; ``alternative`` is ``greater`` (distances agree), ``less`` or
    ``two-sided``.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be pearson or spearman, not {method!r}")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"alternative must be greater, less or two-sided, not {alternative!r}")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"need two square matrices of one shape, got {a.shape} and {b.shape}")
    n = a.shape[0]
    iu = np.triu_indices(n, 1)
    x, y = a[iu], b
    if method == "spearman":
        x = _rank_finite(x)
        y = squareform(_rank_finite(b[iu]), checks=False)
        np.fill_diagonal(y, np.nan)
    observed = _masked_corr(x, y[iu][None, :])[0]
    rng = np.random.default_rng(seed)
    null = []
    for start in range(0, n_permutations, CHUNK):
        m = min(CHUNK, n_permutations - start)
        perms = rng.permuted(np.tile(np.arange(n), (m, 1)), axis=1)
        shuffled = y[perms[:, iu[0]], perms[:, iu[1]]]  # (m, pairs)
        null.append(_masked_corr(x, shuffled))
    null_r = np.concatenate(null) if null else np.zeros(0)
    tol = 1e-12
    if alternative == "greater":
        exceed = np.sum(null_r >= observed - tol)
    elif alternative == "less":
        exceed = np.sum(null_r <= observed + tol)
    else:
        exceed = np.sum(np.abs(null_r) >= abs(observed) - tol)
    n_pairs = int(np.sum(np.isfinite(a[iu]) & np.isfinite(b[iu])))
    return MantelTest(float(observed), float((exceed + 1) / (n_permutations + 1)), method,
                      alternative, n, n_pairs, n_permutations)


def _rank_finite(values: np.ndarray) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    out[ok] = rankdata(values[ok])
    return out


def _masked_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of x (p,) with each row of y (m, p) over pairs finite in both."""
    mask = np.isfinite(x)[None, :] & np.isfinite(y)
    w = mask.astype(np.float64)
    xs = np.where(mask, x[None, :], 0.0)
    ys = np.where(mask, y, 0.0)
    count = w.sum(1)
    mx = xs.sum(1) / np.maximum(count, 1)
    my = ys.sum(1) / np.maximum(count, 1)
    dx = (xs - mx[:, None]) * w
    dy = (ys - my[:, None]) * w
    denom = np.sqrt((dx * dx).sum(1) * (dy * dy).sum(1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, (dx * dy).sum(1) / denom, np.nan)


def knn_purity(distances: np.ndarray, groups: Sequence, *, k: int = 5) -> tuple[float, float]:
    """Mean fraction of each item's k nearest neighbours (itself excluded) in its own group,
    and the fraction expected under randomly assigned groups of the same sizes."""
    d = np.asarray(distances, dtype=np.float64).copy()
    codes, sizes = _codes(groups)
    n = len(codes)
    if n < 2:
        return float("nan"), float("nan")
    k = max(1, min(k, n - 1))
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    purity = float(np.mean(codes[nearest] == codes[:, None]))
    chance = float(np.sum(sizes * (sizes - 1)) / (n * (n - 1)))
    return purity, chance


def group_agreement(
    distances: np.ndarray,
    cluster_labels: np.ndarray,
    names: Sequence[str],
    groups: Mapping[str, str],
    *,
    k: int = 5,
    n_permutations: int = 999,
    seed: int = 0,
) -> GroupAgreement | None:
    """Agreement of an embedding (its (n, n) ``distances`` and flat ``cluster_labels`` (n,))
    with expert ``groups`` {name: group}, over the names that have a group.

    Returns None when fewer than two groups or too few grouped items are present to test.
    """
    keep = np.array([i for i, name in enumerate(names) if name in groups], dtype=np.int64)
    labels = [groups[names[i]] for i in keep]
    if len(set(labels)) < 2 or len(keep) <= len(set(labels)):
        return None
    d = np.asarray(distances, dtype=np.float64)[np.ix_(keep, keep)]
    clusters = np.asarray(cluster_labels)[keep]
    purity, chance = knn_purity(d, labels, k=k)
    return GroupAgreement(
        names=tuple(names[i] for i in keep),
        groups=tuple(labels),
        ari=float(adjusted_rand_score(labels, clusters)),
        nmi=float(normalized_mutual_info_score(labels, clusters)),
        knn_purity=purity,
        knn_chance=chance,
        k=max(1, min(k, len(keep) - 1)),
        permanova=permanova(d, labels, n_permutations=n_permutations, seed=seed),
    )


def expert_distance_matrix(
    pairs: Sequence[tuple[str, str, float]], names: Sequence[str]
) -> tuple[tuple[str, ...], np.ndarray]:
    """An (m, m) expert distance matrix from ``(ingredient_a, ingredient_b, distance)`` rows,
    over the ``names`` (in their order) that appear in at least one pair; unrated pairs are NaN.
    A pair given in both orders keeps the mean."""
    known = set(names)
    present = {x for a, b, _ in pairs for x in (a, b) if x in known}
    order = tuple(n for n in names if n in present)
    index = {n: i for i, n in enumerate(order)}
    total = np.zeros((len(order), len(order)))
    count = np.zeros_like(total)
    for a, b, dist in pairs:
        if a in index and b in index and a != b and np.isfinite(dist):
            i, j = index[a], index[b]
            total[i, j] += dist
            total[j, i] += dist
            count[i, j] += 1
            count[j, i] += 1
    with np.errstate(invalid="ignore"):
        matrix = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    np.fill_diagonal(matrix, 0.0)
    return order, matrix


def adjust_pvalues(p_values: Sequence[float | None], *, method: str = "holm") -> np.ndarray:
    """Multiple-testing correction; NaN or None entries (no p-value) are left NaN.

    ``holm`` controls the family-wise error rate; ``bh`` (Benjamini-Hochberg) the false
    discovery rate.
    """
    p = np.array([np.nan if v is None else v for v in p_values], dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    values = p[ok]
    if method == "bh":
        out[ok] = false_discovery_control(values, method="bh")
    elif method == "holm":
        order = np.argsort(values, kind="stable")
        scaled = values[order] * (m - np.arange(m))
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
        out[ok] = adjusted
    else:
        raise ValueError(f"method must be holm or bh, not {method!r}")
    return out


def _codes(groups: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (n,) and group sizes (g,) of a label sequence."""
    _, codes, sizes = np.unique(np.asarray(list(groups), dtype=object).astype(str),
                                return_inverse=True, return_counts=True)
    return codes.astype(np.int64), sizes.astype(np.float64)
