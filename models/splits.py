"""Seeded train / validation / test splits by formulation id.

All measurements of a recipe land in one part, so a test score never rewards remembering a
recipe. Ids are sorted before shuffling: the same ids and seed give the same split whatever
order they came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Formulation ids of each part (sorted), and how they were drawn.

    ``method`` is ``"random"`` or ``"kfold:<k>:<fold>"``.
    """

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]
    seed: int
    method: str

    def __post_init__(self) -> None:
        parts = (set(self.train), set(self.validation), set(self.test))
        if sum(map(len, parts)) != len(set().union(*parts)):
            raise ValueError("split parts overlap: a formulation id is in more than one part")

    def to_dict(self) -> dict:
        """A JSON-serialisable copy."""
        return {
            "train": list(self.train),
            "validation": list(self.validation),
            "test": list(self.test),
            "seed": self.seed,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        """Rebuild a split written by :meth:`to_dict`."""
        return cls(
            train=tuple(map(str, d["train"])),
            validation=tuple(map(str, d["validation"])),
            test=tuple(map(str, d["test"])),
            seed=int(d["seed"]),
            method=str(d["method"]),
        )


def random_split(
    formulation_ids: Sequence[str], *, seed: int, validation: float = 0.1, test: float = 0.2
) -> Split:
    """Shuffle the ids and cut them into train / validation / test.

    Each part with a non-zero fraction gets at least one id; train keeps the rest and must not
    be empty.
    """
    ids = _unique_sorted(formulation_ids)
    _check_fraction("validation", validation)
    _check_fraction("test", test)
    if validation + test >= 1:
        raise ValueError(f"validation + test must be below 1, got {validation} + {test}")
    n = len(ids)
    n_test, n_val = _part_size(n, test), _part_size(n, validation)
    if n - n_test - n_val < 1:
        raise ValueError(f"{n} formulations are too few for a split with validation={validation} "
                         f"and test={test}")
    shuffled = np.random.default_rng(seed).permutation(ids).tolist()
    return Split(
        train=tuple(sorted(shuffled[n_test + n_val:])),
        validation=tuple(sorted(shuffled[n_test:n_test + n_val])),
        test=tuple(sorted(shuffled[:n_test])),
        seed=int(seed),
        method="random",
    )


def kfold_splits(
    formulation_ids: Sequence[str], *, k: int = 5, seed: int, validation: float = 0.1
) -> list[Split]:
    """K splits whose test parts are the k folds, so every id is tested exactly once.

    Fold sizes differ by at most one. Each split's validation part, ``validation`` times all
    ids (at least one when non-zero), is drawn at random from the other folds.
    """
    ids = _unique_sorted(formulation_ids)
    _check_fraction("validation", validation)
    if not 2 <= k <= len(ids):
        raise ValueError(f"k must be between 2 and the number of formulations ({len(ids)}), "
                         f"got {k}")
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(ids), k)
    n_val = _part_size(len(ids), validation)
    splits = []
    for i, fold in enumerate(folds):
        rest = rng.permutation(np.concatenate([f for j, f in enumerate(folds) if j != i]))
        if len(rest) - n_val < 1:
            raise ValueError(f"{len(ids)} formulations are too few for {k} folds with "
                             f"validation={validation}")
        splits.append(Split(
            train=tuple(sorted(rest[n_val:].tolist())),
            validation=tuple(sorted(rest[:n_val].tolist())),
            test=tuple(sorted(fold.tolist())),
            seed=int(seed),
            method=f"kfold:{k}:{i}",
        ))
    return splits


def _unique_sorted(formulation_ids: Sequence[str]) -> list[str]:
    ids = sorted({str(f) for f in formulation_ids})
    if not ids:
        raise ValueError("no formulation ids to split")
    return ids


def _check_fraction(name: str, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def _part_size(n: int, fraction: float) -> int:
    return max(1, round(n * fraction)) if fraction > 0 else 0
