"""The design space: a recipe as a vector of amounts over the model's ingredient vocabulary.

Every search method (NSGA-II, random search, TPE) works on the same encoding: one amount per
ingredient the model knows, 0 where absent, in the dataset's units. What a valid recipe is
lives here too (:func:`check_recipe`): non-negative amounts summing to the recipe total, the
balance ingredient (water on synthetic data) taking up the rest where there is one, each present
amount inside the range that ingredient had in the training recipes (widened by
``range_slack``), at most ``max_ingredients`` ingredients, forbidden ones absent, fixed ones at
their amount and, in counterfactual mode, at most ``max_changes`` ingredients different from the
start recipe (the balance ingredient counts when its amount moves).

Distances between recipes are taken in a composition space: ``sqrt(amount / total)`` per
ingredient (the Hellinger embedding of the composition), so swapping a 0.5 % preservative
counts, without letting the water content dominate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from xai.inverse.targets import DesignError

__all__ = ["DesignSpace", "Evaluation", "build_space", "check_recipe"]

DECIMALS = 4  # amounts are kept to 4 decimals, as the synthetic data writes them


@dataclass(frozen=True, eq=False)
class DesignSpace:
    """Where designs may lie. Arrays are (V,) over ``codes`` unless stated.

    ``low`` / ``high`` bound a present amount; ``banned`` marks ingredients a design may not hold
    (forbidden, outside ``allowed``, or never in a training recipe); ``fixed`` marks ingredients
    held at ``fixed_amount``; ``group`` is the expert group index (-1 where none);
    ``frequency`` the number of training recipes holding the ingredient. ``training`` (M, V) holds
    the training recipes (ids ``training_ids``), ``start`` the start recipe in counterfactual
    mode. ``spacing`` is the median distance of a training recipe to its nearest other one: a
    design no farther than that from the data is as close as the data are to themselves.
    """

    codes: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    banned: np.ndarray
    fixed: np.ndarray
    fixed_amount: np.ndarray
    group: np.ndarray
    frequency: np.ndarray
    total: float
    balance: int | None
    max_ingredients: int
    training: np.ndarray
    training_ids: tuple[str, ...]
    spacing: float
    start: np.ndarray | None = None
    start_id: str | None = None
    max_changes: int | None = None
    group_names: tuple[str, ...] = ()
    _features: dict = field(default_factory=dict, repr=False)

    @property
    def n_vars(self) -> int:
        return len(self.codes)

    @property
    def tolerance(self) -> float:
        """Amounts closer than this are the same amount (half the last kept decimal)."""
        return 0.5 * 10.0 ** -DECIMALS + 1e-9

    @property
    def counterfactual(self) -> bool:
        return self.start is not None

    def features(self, x: np.ndarray) -> np.ndarray:
        """(N, V) recipes -> (N, V) composition features ``sqrt(amount / total)``."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        totals = x.sum(1, keepdims=True)
        return np.sqrt(np.clip(x, 0, None) / np.where(totals > 0, totals, 1.0))

    def training_features(self) -> np.ndarray:
        if "training" not in self._features:
            self._features["training"] = self.features(self.training)
        return self._features["training"]

    def nearest_training(self, x: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Distances (N, k) to and indices (N, k) of the ``k`` nearest training recipes."""
        f, t = self.features(x), self.training_features()
        out_d = np.empty((len(f), k))
        out_i = np.empty((len(f), k), dtype=np.int64)
        t2 = (t * t).sum(1)
        for s in range(0, len(f), 2048):
            block = f[s:s + 2048]
            d2 = (block * block).sum(1)[:, None] + t2[None, :] - 2.0 * block @ t.T
            idx = np.argpartition(d2, min(k, d2.shape[1] - 1), axis=1)[:, :k]
            part = np.take_along_axis(d2, idx, 1)
            order = np.argsort(part, axis=1)
            out_i[s:s + 2048] = np.take_along_axis(idx, order, 1)
            out_d[s:s + 2048] = np.sqrt(np.clip(np.take_along_axis(part, order, 1), 0, None))
        return out_d, out_i

    def changed(self, x: np.ndarray) -> np.ndarray:
        """(N, V) bool: ingredients whose amount differs from the start recipe."""
        if self.start is None:
            raise ValueError("no start recipe: not in counterfactual mode")
        return np.abs(np.atleast_2d(x) - self.start[None, :]) > self.tolerance

    def change_size(self, x: np.ndarray) -> np.ndarray:
        """(N,) number of changed ingredients plus the changed share of the recipe (L1 / total,
        in [0, 2]), so that fewer changes always win and smaller ones break ties."""
        x = np.atleast_2d(x)
        return self.changed(x).sum(1) + np.abs(x - self.start[None, :]).sum(1) / self.total / 2

    def recipe(self, x: np.ndarray) -> tuple[list[str], np.ndarray]:
        """One vector -> ``(codes, amounts)`` of the ingredients present, largest first."""
        present = np.flatnonzero(x > 0)
        present = present[np.argsort(-x[present], kind="stable")]
        return [self.codes[j] for j in present], x[present].astype(np.float64)

    def vector(self, codes: Sequence[str], amounts: Sequence[float]) -> np.ndarray:
        """``(codes, amounts)`` -> (V,) vector; unknown codes raise KeyError."""
        index = {c: j for j, c in enumerate(self.codes)}
        x = np.zeros(self.n_vars)
        for c, a in zip(codes, amounts, strict=True):
            x[index[c]] += float(a)
        return x


@dataclass(frozen=True)
class Evaluation:
    """What the model says of N candidate recipes.

    ``z`` (N, T) predictions in standardised units per target; ``target_distance`` (N, T) how
    far each lies outside its target range (standardised units, 0 inside); ``search_distance``
    (N,) the summed distance to the shrunken ranges the search aims for; ``data_distance`` (N,)
    to the nearest training recipe; ``changes`` (N,) the change size from the start recipe
    (zeros outside counterfactual mode); ``centrality`` (N,) the largest distance from a target
    range's centre in half-widths (0 at the centres, 1 on an edge).
    """

    z: np.ndarray
    target_distance: np.ndarray
    search_distance: np.ndarray
    data_distance: np.ndarray
    changes: np.ndarray
    centrality: np.ndarray

    @property
    def meets(self) -> np.ndarray:
        """(N,) bool: inside every target range under the model."""
        return (self.target_distance <= 0).all(1)


def build_space(
    model,
    dataset,
    *,
    start: str | None = None,
    max_changes: int | None = None,
    allowed: Iterable[str] | None = None,
    forbidden: Iterable[str] = (),
    fixed: dict[str, float] | None = None,
    balance: str | None = None,
    max_ingredients: int = 40,
    range_slack: float = 0.0,
) -> DesignSpace:
    """The design space of ``model`` (a ``TrainedModel``) over the recipes of ``dataset``.

    Training recipes are the model's recorded training split where the dataset holds it, else
    every recipe of the dataset. ``balance`` defaults to truth.json's ``balance_ingredient``.
    Raises DesignError on an unknown start recipe or ingredient, or contradictory options.
    """
    codes = tuple(model.encoder.ingredients)
    index = {c: j for j, c in enumerate(codes)}
    V = len(codes)
    recipes = dataset.recipes()
    split_train = list(getattr(model.split, "train", None) or [])
    train_ids = [f for f in split_train if f in recipes] if split_train else []
    if len(train_ids) < max(1, len(split_train) // 2):
        train_ids = list(recipes)
    training = np.zeros((len(train_ids), V))
    for i, fid in enumerate(train_ids):
        names, amounts = recipes[fid]
        for c, a in zip(names, amounts, strict=True):
            if c in index:
                training[i, index[c]] += a
    present = training > 0
    frequency = present.sum(0)
    with np.errstate(invalid="ignore"):
        low = np.where(frequency > 0, np.where(present, training, np.inf).min(0), 0.0)
        high = training.max(0)
    if range_slack < 0:
        raise DesignError("range_slack must be >= 0")
    low, high = low / (1 + range_slack), high * (1 + range_slack)
    banned = frequency == 0

    unknown = lambda names: sorted(set(names) - set(index))  # noqa: E731
    if allowed is not None:
        allowed = list(allowed)
        if bad := unknown(allowed):
            raise DesignError(f"allowed ingredients the model does not know: {bad}")
        banned |= ~np.isin(np.arange(V), [index[c] for c in allowed])
    forbidden = list(forbidden)
    if bad := unknown(forbidden):
        raise DesignError(f"forbidden ingredients the model does not know: {bad}")
    banned[[index[c] for c in forbidden]] = True

    if balance is None and dataset.truth:
        balance = dataset.truth.get("balance_ingredient")
    b = index.get(balance) if balance else None
    if b is not None and banned[b]:
        b = None  # a forbidden (or never seen) balance ingredient is simply not used

    fixed_mask, fixed_amount = np.zeros(V, dtype=bool), np.zeros(V)
    for c, a in (fixed or {}).items():
        if c not in index:
            raise DesignError(f"fixed ingredient {c!r} is not known to the model")
        if not (np.isfinite(a) and a >= 0):
            raise DesignError(f"fixed amount of {c!r} must be a number >= 0, not {a}")
        j = index[c]
        if j == b:
            raise DesignError(f"{c!r} is the balance ingredient; its amount is what the others "
                             "leave and cannot be fixed")
        if a > 0 and frequency[j] == 0:
            raise DesignError(f"fixed ingredient {c!r} is in no training recipe; the model "
                             "never learned it")
        fixed_mask[j], fixed_amount[j] = True, float(a)
        if a == 0:
            banned[j] = True
        else:
            if banned[j]:
                raise DesignError(f"{c!r} is both fixed and forbidden (or not allowed)")
            low[j], high[j] = min(low[j], a), max(high[j], a)

    start_vec, total = None, float(np.median(training.sum(1))) if len(training) else 100.0
    if start is not None:
        if start not in recipes:
            raise DesignError(f"start recipe {start!r} is not in the dataset")
        names, amounts = recipes[start]
        if bad := unknown(names):
            raise DesignError(f"start recipe {start!r} holds ingredients the model does not "
                             f"know: {bad}")
        start_vec = np.zeros(V)
        for c, a in zip(names, amounts, strict=True):
            start_vec[index[c]] += a
        total = float(start_vec.sum())
        held = (start_vec > 0) & ~banned
        low[held] = np.minimum(low[held], start_vec[held])
        high[held] = np.maximum(high[held], start_vec[held])
        if max_changes is not None and max_changes < 1:
            raise DesignError("max_changes must be at least 1")
    elif max_changes is not None:
        raise DesignError("max_changes needs a start recipe (counterfactual mode)")
    if fixed_mask.any() and fixed_amount.sum() > total:
        raise DesignError(f"fixed amounts sum to {fixed_amount.sum():g}, more than the recipe "
                         f"total {total:g}")
    high = np.minimum(high, total)
    low = np.minimum(low, high)

    groups = dataset.ingredient_groups()
    names = sorted(set(groups.values()))
    gid = {g: i for i, g in enumerate(names)}
    group = np.array([gid.get(groups.get(c, ""), -1) for c in codes], dtype=np.int64)
    space = DesignSpace(
        codes=codes, low=low, high=high, banned=banned, fixed=fixed_mask,
        fixed_amount=fixed_amount, group=group, frequency=frequency, total=total, balance=b,
        max_ingredients=int(max_ingredients), training=training, training_ids=tuple(train_ids),
        spacing=0.0, start=start_vec, start_id=start, max_changes=max_changes,
        group_names=tuple(names),
    )
    object.__setattr__(space, "spacing", _spacing(space))
    return space


def _spacing(space: DesignSpace, sample: int = 1000) -> float:
    """Median distance from a training recipe to its nearest other training recipe (over the
    first ``sample`` recipes, for speed)."""
    if len(space.training) < 2:
        return 0.0
    d, _ = space.nearest_training(space.training[:sample], k=2)
    return float(np.median(d[:, 1]))


def check_recipe(space: DesignSpace, x: np.ndarray) -> list[str]:
    """Every way ``x`` (V,) breaks the rules of ``space``; ``[]`` for a valid recipe."""
    x = np.asarray(x, dtype=np.float64)
    tol = 1e-6 * space.total + 2 * 10.0 ** -DECIMALS
    problems = []
    if not np.all(np.isfinite(x)):
        problems.append("non-finite amount")
        return problems
    if np.any(x < 0):
        problems.append(f"negative amounts at {np.flatnonzero(x < 0).tolist()}")
    if abs(x.sum() - space.total) > tol:
        problems.append(f"sums to {x.sum():.6g}, not {space.total:.6g}")
    present = x > 0
    if present.sum() > space.max_ingredients:
        problems.append(f"{present.sum()} ingredients, more than {space.max_ingredients}")
    if np.any(present & space.banned):
        problems.append(f"banned ingredients present: "
                        f"{[space.codes[j] for j in np.flatnonzero(present & space.banned)]}")
    loose = tol + 1e-3  # rounding to 4 decimals can leave the last amount a hair outside
    out = present & ((x < space.low - loose) | (x > space.high + loose))
    if out.any():
        problems.append("amounts outside their range: " + ", ".join(
            f"{space.codes[j]}={x[j]:g} not in [{space.low[j]:g}, {space.high[j]:g}]"
            for j in np.flatnonzero(out)))
    wrong = space.fixed & (np.abs(x - space.fixed_amount) > tol)
    if wrong.any():
        moved = [space.codes[j] for j in np.flatnonzero(wrong)]
        problems.append(f"fixed ingredients moved: {moved}")
    if space.start is not None and space.max_changes is not None:
        n = int(space.changed(x[None, :]).sum())
        if n > space.max_changes:
            problems.append(f"{n} ingredients changed, more than {space.max_changes}")
    return problems
