"""Learning dynamics: how the embedding tables moved and when expert groups separated.

Training keeps copies of the ingredient and property tables every ``snapshot_every`` epochs
(``TrainConfig.snapshot_every``; ``model.history.snapshots``). From them: how far each vector
moved per epoch between snapshots, how well the groups are separated at each snapshot (mean
within-group over mean between-group distance, and the adjusted Rand index of a clustering cut
into as many clusters as there are groups), the epoch by which that separation was essentially
reached, and trajectories in one 2-D PCA projection fitted on all snapshots stacked, so positions
at different epochs are comparable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from xai.representation.embeddings import cut_tree, distance_matrix, hierarchical_clustering

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TableDynamics:
    """One table (ingredients or properties) over S snapshots of n vectors.

    ``step`` (S-1, n) is each vector's distance moved per epoch between consecutive snapshots;
    ``ratio`` and ``ari`` (S,) the group separation per snapshot (NaN without groups);
    ``separated_at`` the first snapshot epoch from which the ratio stays within 10% of its total
    change from the first to the last snapshot (None without groups); ``trajectory`` (S, n, 2)
    the shared PCA coordinates, ``explained`` the variance ratio of its two axes.
    """

    names: tuple[str, ...]
    step: np.ndarray
    ratio: np.ndarray
    ari: np.ndarray
    separated_at: int | None
    trajectory: np.ndarray
    explained: tuple[float, ...]

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "mean_step": self.step.mean(1).tolist() if self.step.size else [],
            "step": self.step.tolist(),
            "ratio": _nan_list(self.ratio),
            "ari": _nan_list(self.ari),
            "separated_at": self.separated_at,
            "trajectory": self.trajectory.tolist(),
            "explained_variance": list(self.explained),
        }


@dataclass(frozen=True)
class Dynamics:
    """Learning dynamics of both tables, or ``reason`` why there are none."""

    epochs: np.ndarray
    ingredients: TableDynamics | None
    properties: TableDynamics | None
    metric: str = "cosine"
    reason: str = ""
    settings: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.ingredients is not None

    def to_dict(self) -> dict:
        return {
            "available": self.available,
            "reason": self.reason,
            "epochs": self.epochs.tolist(),
            "metric": self.metric,
            "ingredients": None if self.ingredients is None else self.ingredients.to_dict(),
            "properties": None if self.properties is None else self.properties.to_dict(),
            "settings": dict(self.settings),
        }

    def to_frame(self) -> pd.DataFrame:
        """Long format over snapshots (not cases): one row per table x snapshot epoch x name,
        with the shared PCA coordinates ``x``, ``y``, the distance ``step`` moved per epoch
        since the previous snapshot (NaN at the first) and the table's group separation
        ``ratio`` and ``ari`` at that snapshot. Empty when there are no dynamics."""
        import pandas as pd

        parts = []
        for table, d in (("ingredients", self.ingredients), ("properties", self.properties)):
            if d is None:
                continue
            s, n = d.trajectory.shape[:2]
            step = np.vstack([np.full((1, n), np.nan), d.step]) if s else d.step
            parts.append(pd.DataFrame({
                "table": table, "epoch": np.repeat(self.epochs[:s], n),
                "name": np.tile(np.asarray(d.names, dtype=object), s),
                "x": d.trajectory[:, :, 0].ravel(), "y": d.trajectory[:, :, 1].ravel(),
                "step": step.ravel(), "ratio": np.repeat(d.ratio, n),
                "ari": np.repeat(d.ari, n)}))
        columns = ["table", "epoch", "name", "x", "y", "step", "ratio", "ari"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def learning_dynamics(
    snapshots: Sequence[Mapping],
    *,
    ingredient_names: Sequence[str],
    property_names: Sequence[str],
    ingredient_groups: Mapping[str, str] | None = None,
    property_groups: Mapping[str, str] | None = None,
    metric: str = "cosine",
    settled: float = 0.9,
) -> Dynamics:
    """Dynamics from snapshots ``{epoch, ingredients (n_ing, base_dim), properties
    (n_prop, mixer_dim)}`` in epoch order.

    Parameters
    ----------
    snapshots : as kept in ``model.history.snapshots``.
    ingredient_names, property_names : row labels of the two tables.
    ingredient_groups, property_groups : expert groups {name: group}; without them the
        separation scores are NaN.
    metric : ``l2`` or ``cosine``, for the separation scores.
    settled : fraction of the total change in the ratio that marks ``separated_at``.
    """
    if len(snapshots) < 2:
        reason = ("no embedding snapshots were kept (train with snapshot_every > 0)"
                  if not snapshots else "only one embedding snapshot was kept; need two or more")
        return Dynamics(np.array([int(s["epoch"]) for s in snapshots], dtype=np.int64),
                        None, None, metric, reason)
    snapshots = sorted(snapshots, key=lambda s: int(s["epoch"]))
    epochs = np.array([int(s["epoch"]) for s in snapshots], dtype=np.int64)
    tables = {}
    for key, names, groups in (("ingredients", ingredient_names, ingredient_groups),
                               ("properties", property_names, property_groups)):
        stack = np.stack([np.asarray(s[key], dtype=np.float64) for s in snapshots])
        if stack.shape[1] != len(names):
            raise ValueError(f"snapshots hold {stack.shape[1]} {key} vectors, "
                             f"but {len(names)} names were given")
        tables[key] = _table_dynamics(stack, epochs, names, groups or {}, metric, settled)
    return Dynamics(epochs, tables["ingredients"], tables["properties"], metric, "",
                    {"settled": settled})


def _table_dynamics(
    stack: np.ndarray,
    epochs: np.ndarray,
    names: Sequence[str],
    groups: Mapping[str, str],
    metric: str,
    settled: float,
) -> TableDynamics:
    """``stack`` (S, n, d) snapshots of one table."""
    gaps = np.maximum(np.diff(epochs), 1).astype(np.float64)
    step = np.linalg.norm(np.diff(stack, axis=0), axis=-1) / gaps[:, None]  # (S-1, n)
    keep = np.array([i for i, name in enumerate(names) if name in groups], dtype=np.int64)
    labels = np.array([groups[names[i]] for i in keep], dtype=object)
    n_groups = len(set(labels.tolist()))
    ratio = np.full(len(epochs), np.nan)
    ari = np.full(len(epochs), np.nan)
    if n_groups >= 2 and len(keep) > n_groups:
        same = labels[:, None] == labels[None, :]
        upper = np.triu(np.ones(same.shape, dtype=bool), 1)
        for s, table in enumerate(stack):
            d = distance_matrix(table[keep], metric=metric)
            between = d[~same & upper].mean()
            ratio[s] = d[same & upper].mean() / between if between > 0 else np.nan
            cut = cut_tree(hierarchical_clustering(d), n_groups)
            ari[s] = adjusted_rand_score(labels.astype(str), cut)
    s_count, n, dim = stack.shape
    trajectory = np.zeros((s_count, n, 2))
    explained: tuple[float, ...] = ()
    if n * s_count >= 2:
        k = min(2, dim, n * s_count)
        pca = PCA(n_components=k, svd_solver="full").fit(stack.reshape(-1, dim))
        trajectory[..., :k] = pca.transform(stack.reshape(-1, dim)).reshape(s_count, n, k)
        explained = tuple(float(v) for v in pca.explained_variance_ratio_)
    return TableDynamics(tuple(names), step, ratio, ari,
                         _settled_epoch(ratio, epochs, settled), trajectory, explained)


def _settled_epoch(score: np.ndarray, epochs: np.ndarray, settled: float) -> int | None:
    """First epoch from which ``score`` stays within (1 - settled) of its total change."""
    if not np.all(np.isfinite(score)):
        return None
    change = score[-1] - score[0]
    if change == 0:
        return int(epochs[0])
    progress = (score - score[0]) / change  # 0 at the first snapshot, 1 at the last
    reached = progress >= settled
    # the last index from which every later snapshot has reached the level
    stays = np.flatnonzero(~reached)
    first = 0 if len(stays) == 0 else stays[-1] + 1
    return int(epochs[min(first, len(epochs) - 1)])


def _nan_list(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]
