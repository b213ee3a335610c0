"""The base every per-case result shares: a case header and sliceable parallel arrays.

A case is one (formulation, property) pair. A result holds N cases as parallel arrays, in the
spirit of ``shap.Explanation`` without its machinery: the header (``formulation_ids``,
``properties``, ``ingredients``), then whatever the analysis computed, each field with the cases
on its first axis. A subclass lists those fields in ``_per_case`` (name -> the axes that run over
ingredient slots: ``()`` for one value per case, ``(1,)`` for (N, T), ``(1, 2)`` for (N, T, T));
everything else (method, absence, parameters) is shared by all cases and kept as it is.
Indexing then works the same on every result::

    ex[0]                       # a one-case result (len 1), trimmed to that recipe's slots
    ex[:5], ex[[0, 3]], ex[mask]  # a subset, trimmed to its longest recipe
    ex.select(formulations=["F1"], properties=["ph"])
    ex.to_frame()               # long format, one row per case (x ingredient)

Results are frozen; slicing returns a new object of the same type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, ClassVar, Self

import numpy as np

from xai.absence import Absence

if TYPE_CHECKING:  # pandas is imported where a table is built
    import pandas as pd


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class CaseResults:
    """N cases: ``formulation_ids[i]`` and ``properties[i]`` name case i, ``ingredients[i]`` its
    ingredients in slot order (slot j of every (N, T, ...) array is ingredient j of the case;
    slots past the recipe are padding)."""

    formulation_ids: tuple[str, ...]
    properties: tuple[str, ...]
    ingredients: tuple[tuple[str, ...], ...]

    #: per-case fields besides the header: name -> the axes that run over ingredient slots
    _per_case: ClassVar[dict[str, tuple[int, ...]]] = {}
    #: slots before the ingredients on every slot axis (1 where a property token comes first)
    _extra_slots: ClassVar[int] = 0

    def __len__(self) -> int:
        return len(self.formulation_ids)

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> Self:
        """Case ``key`` (an int: a one-case result) or a subset of cases (a slice, an index
        array or a boolean mask of length N), in the order given."""
        n = len(self)
        if isinstance(key, int | np.integer):
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"case {i} out of range for {n} cases")
            rows = np.array([i % n])
        elif isinstance(key, slice):
            rows = np.arange(n)[key]
        else:
            rows = np.asarray(key)
            if rows.dtype == bool:
                if rows.shape != (n,):
                    raise IndexError(f"a boolean mask needs {n} entries, got {rows.shape}")
                rows = np.flatnonzero(rows)
            elif rows.size == 0:
                rows = rows.astype(np.int64)
            elif rows.dtype.kind not in "iu":
                raise TypeError(f"cases are indexed by int, slice, index array or boolean mask, "
                                f"not {type(key).__name__}")
            if rows.size and (rows.max() >= n or rows.min() < -n):
                raise IndexError(f"case index out of range for {n} cases")
            rows = rows % max(n, 1)
        return self._take(rows)

    def select(
        self,
        formulations: Iterable[str] | None = None,
        properties: Iterable[str] | None = None,
    ) -> Self:
        """The cases of the given formulations and properties (None: any), in this result's
        order. Naming a formulation or property that has no case here is an error."""
        keep = np.ones(len(self), dtype=bool)
        for names, column, what in ((formulations, self.formulation_ids, "formulations"),
                                    (properties, self.properties, "properties")):
            if names is None:
                continue
            names = [names] if isinstance(names, str) else list(names)
            missing = sorted(set(names) - set(column))
            if missing:
                raise KeyError(f"no cases for {what} {missing[:10]}")
            keep &= np.isin(np.asarray(column, dtype=object), names)
        return self._take(np.flatnonzero(keep))

    def _take(self, rows: np.ndarray) -> Self:
        """The cases ``rows`` (int array), every slot axis trimmed to their longest recipe."""
        rows = np.asarray(rows, dtype=np.int64)
        width = max(max((len(self.ingredients[i]) for i in rows), default=0), 1)
        changes: dict = {
            "formulation_ids": tuple(self.formulation_ids[i] for i in rows),
            "properties": tuple(self.properties[i] for i in rows),
            "ingredients": tuple(self.ingredients[i] for i in rows),
        }
        width += self._extra_slots
        for name, slot_axes in self._per_case.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, tuple):
                changes[name] = tuple(value[i] for i in rows)
                continue
            index = [rows] + [slice(None)] * (value.ndim - 1)
            for axis in slot_axes:
                index[axis] = slice(0, width)
            changes[name] = value[tuple(index)]
        return replace(self, **changes)

    def __repr__(self) -> str:
        """A one-line summary (the arrays would fill a notebook cell)."""
        props = sorted(set(self.properties))
        shown = ", ".join(props[:4]) + (f" and {len(props) - 4} more" if len(props) > 4 else "")
        labels = "".join(f", {f.name}={str(getattr(self, f.name))!r}" for f in fields(self)
                         if isinstance(getattr(self, f.name), str | Absence))
        n, m = len(self), len(set(self.formulation_ids))
        return (f"<{type(self).__name__}: {n} case{'' if n == 1 else 's'}, "
                f"{m} formulation{'' if m == 1 else 's'} x [{shown}]{labels}>")

    def to_frame(self) -> pd.DataFrame:
        """Long format; each result type says its columns."""
        raise NotImplementedError
