"""Splits that test extrapolation rather than interpolation.

- ``ingredient``: leave ingredients out. Ingredients held by at least 2 recipes and at most
  half of them are shuffled into ``folds`` groups; fold i tests on every recipe holding an
  ingredient of group i and trains on the rest (so the test ingredients are never trained on).
- ``group``: leave an expert group out (``ingredients.csv`` groups): one split per group whose
  recipes are at most half of the data, testing on every recipe holding one of its ingredients.
- ``size``: train on recipes with at most the median number of ingredients, test on the larger
  ones.

Each split keeps ``validation`` of its training recipes for early stopping.
"""

from __future__ import annotations

import numpy as np

from models.choices import STRUCTURED_SPLITS
from models.data import Dataset
from models.pipeline import measured_formulations
from models.splits import Split

STRUCTURED = STRUCTURED_SPLITS
MAX_TEST_SHARE = 0.5


def structured_splits(dataset: Dataset, method: str, *, folds: int = 5, seed: int = 0,
                      validation: float = 0.1) -> list[tuple[dict, Split]]:
    """``(labels, split)`` pairs for ``method`` (one of :data:`STRUCTURED`)."""
    if method not in STRUCTURED:
        raise ValueError(f"method must be one of {STRUCTURED}, not {method!r}")
    ids = measured_formulations(dataset)
    recipes = dataset.recipes()
    holding: dict[str, set[str]] = {}
    for f in ids:
        for code in recipes[f][0]:
            holding.setdefault(code, set()).add(f)
    rng = np.random.default_rng(seed)
    held_out: list[tuple[str, set[str]]] = []
    if method == "ingredient":
        candidates = sorted(c for c, fs in holding.items()
                            if 2 <= len(fs) <= MAX_TEST_SHARE * len(ids))
        if len(candidates) < folds:
            raise ValueError(f"only {len(candidates)} ingredients can be left out; need at "
                             f"least --folds {folds}")
        for i, part in enumerate(np.array_split(rng.permutation(candidates), folds)):
            test = set().union(*(holding[c] for c in part))
            held_out.append((f"ingredients fold {i} ({len(part)} ingredients)", test))
    elif method == "group":
        groups = dataset.ingredient_groups()
        if not groups:
            raise ValueError("--split group needs ingredients.csv with a group column")
        for group in sorted(set(groups.values())):
            test = set().union(*(holding.get(c, set()) for c, g in groups.items() if g == group))
            if test and len(test) <= MAX_TEST_SHARE * len(ids):
                held_out.append((f"group {group}", test))
        if not held_out:
            raise ValueError("every expert group is in more than half of the recipes")
    else:
        sizes = {f: len(recipes[f][0]) for f in ids}
        threshold = float(np.median(list(sizes.values())))
        test = {f for f, n in sizes.items() if n > threshold}
        if not test:
            raise ValueError("every recipe has the median size; nothing to test on")
        held_out.append((f"recipes with more than {threshold:g} ingredients", test))
    out = []
    for i, (what, test) in enumerate(held_out):
        rest = rng.permutation(sorted(set(ids) - test)).tolist()
        n_val = max(1, round(validation * len(rest))) if validation > 0 else 0
        if len(rest) - n_val < 2:
            continue
        split = Split(train=tuple(sorted(rest[n_val:])), validation=tuple(sorted(rest[:n_val])),
                      test=tuple(sorted(test)), seed=int(seed),
                      method=f"{method}:{len(held_out)}:{i}")
        out.append(({"repeat": 0, "fold": i, "held_out": what}, split))
    return out
