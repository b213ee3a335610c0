"""Applicability flags: is a recipe inside what the model was trained on?

Fitted on the training recipes and stored in the checkpoint (``domain.json``). Per prediction,
:meth:`Domain.flags` lists, as short tokens joined by ``;``:

- ``unseen:CODE`` -- an ingredient no training recipe held;
- ``rare:CODE(n)`` -- an ingredient held by fewer than ``rare_below`` training recipes;
- ``range:CODE`` -- an amount outside that ingredient's training range;
- ``far`` -- the recipe's composition (amount fractions) is further, in L1 distance, from its
  nearest training recipe than 99 % of training recipes are from theirs (leave-one-out; over a
  seeded sample of :data:`MAX_REFERENCE` recipes when there are more);
- ``disagree`` -- the ensemble members' spread is above the 99th percentile of their spread on
  the training recipes for that property (ensembles only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

RARE_BELOW = 5
PERCENTILE = 99.0
# nearest-neighbour distances are taken to a seeded sample of at most this many training
# recipes (the threshold on the same sample), so 50,000 recipes cost what 4,000 do
MAX_REFERENCE = 4000
DOMAIN_FILE = "domain.json"


@dataclass(frozen=True)
class Domain:
    """What the training recipes covered: ``counts`` (recipes per ingredient), ``ranges``
    (min, max amount per ingredient), the training compositions as fractions over
    ``ingredients`` (``fractions``, (R, I)), and the thresholds (``spread_threshold`` per
    property, in standardised units)."""

    ingredients: tuple[str, ...]
    counts: dict[str, int]
    ranges: dict[str, tuple[float, float]]
    fractions: np.ndarray
    distance_threshold: float
    spread_threshold: dict[str, float] | None = None
    rare_below: int = RARE_BELOW

    def nearest_distance(self, recipes: Sequence[tuple[Sequence[str], np.ndarray]]) -> np.ndarray:
        """(N,) L1 distance from each recipe's fractions to the nearest training recipe."""
        x = _fractions(recipes, self.ingredients)
        return _nearest(x, self.fractions)

    def flags(self, recipes: Sequence[tuple[Sequence[str], np.ndarray]],
              spread: np.ndarray | None = None,
              properties: Sequence[str] | None = None) -> list[str]:
        """One ``;``-joined string of flags per recipe (``""`` when none applies); ``spread``
        (N,) is the members' standard deviation in standardised units of ``properties[i]``."""
        distance = self.nearest_distance(recipes)
        out = []
        for i, (codes, amounts) in enumerate(recipes):
            found = []
            for code, amount in zip(codes, np.asarray(amounts, dtype=np.float64), strict=True):
                n = self.counts.get(code, 0)
                if n == 0:
                    found.append(f"unseen:{code}")
                    continue
                if n < self.rare_below:
                    found.append(f"rare:{code}({n})")
                low, high = self.ranges[code]
                if not low - 1e-9 <= amount <= high + 1e-9:
                    found.append(f"range:{code}")
            if distance[i] > self.distance_threshold + 1e-12:
                found.append("far")
            if spread is not None and self.spread_threshold and properties is not None:
                limit = self.spread_threshold.get(properties[i])
                if limit is not None and spread[i] > limit:
                    found.append("disagree")
            out.append(";".join(found))
        return out

    def to_dict(self) -> dict:
        rows = [np.flatnonzero(r) for r in self.fractions]
        return {
            "ingredients": list(self.ingredients), "counts": self.counts,
            "ranges": {c: list(r) for c, r in self.ranges.items()},
            "recipes": [{"i": r.tolist(), "f": self.fractions[k, r].tolist()}
                        for k, r in enumerate(rows)],
            "distance_threshold": self.distance_threshold,
            "spread_threshold": self.spread_threshold, "rare_below": self.rare_below,
            "percentile": PERCENTILE,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Domain:
        names = tuple(d["ingredients"])
        fractions = np.zeros((len(d["recipes"]), len(names)), dtype=np.float64)
        for k, r in enumerate(d["recipes"]):
            fractions[k, r["i"]] = r["f"]
        spread = d.get("spread_threshold")
        return cls(names, {c: int(n) for c, n in d["counts"].items()},
                   {c: (float(r[0]), float(r[1])) for c, r in d["ranges"].items()}, fractions,
                   float(d["distance_threshold"]),
                   None if spread is None else {p: float(v) for p, v in spread.items()},
                   int(d.get("rare_below", RARE_BELOW)))


def fit_domain(recipes: Sequence[tuple[Sequence[str], np.ndarray]], *,
               spread: dict[str, np.ndarray] | None = None,
               rare_below: int = RARE_BELOW) -> Domain:
    """The domain of the training ``recipes``; ``spread`` (per property, the members' standard
    deviation on the training recipes) sets the disagreement thresholds."""
    counts: dict[str, int] = {}
    ranges: dict[str, list[float]] = {}
    for codes, amounts in recipes:
        for code, amount in zip(codes, np.asarray(amounts, dtype=np.float64), strict=True):
            counts[code] = counts.get(code, 0) + 1
            low, high = ranges.get(code, (amount, amount))
            ranges[code] = [min(low, amount), max(high, amount)]
    names = tuple(sorted(counts))
    if len(recipes) > MAX_REFERENCE:
        keep = np.sort(np.random.default_rng(0).choice(len(recipes), MAX_REFERENCE,
                                                        replace=False))
        recipes = [recipes[i] for i in keep]
    x = _fractions(recipes, names)
    loo = _nearest(x, x, exclude_self=True) if len(x) > 1 else np.zeros(len(x))
    threshold = float(np.percentile(loo, PERCENTILE)) if len(loo) else 0.0
    spread_threshold = None if spread is None else {
        p: float(np.percentile(s, PERCENTILE)) for p, s in spread.items() if len(s)}
    return Domain(names, counts, {c: (r[0], r[1]) for c, r in ranges.items()}, x, threshold,
                  spread_threshold, rare_below)


def _fractions(recipes, names: Sequence[str]) -> np.ndarray:
    index = {c: j for j, c in enumerate(names)}
    x = np.zeros((len(recipes), len(names)), dtype=np.float64)
    for i, (codes, amounts) in enumerate(recipes):
        a = np.asarray(amounts, dtype=np.float64)
        total = a.sum()
        for code, v in zip(codes, a, strict=True):
            if code in index:  # an unseen ingredient has no column: its share counts as distance
                x[i, index[code]] += v / total if total > 0 else 0.0
    return x


def _nearest(x: np.ndarray, reference: np.ndarray, *, exclude_self: bool = False,
             chunk: int = 512) -> np.ndarray:
    """L1 distance from each row of ``x`` to its nearest row of ``reference``.

    Shares of ingredients outside ``reference``'s columns were left out of ``x``, so a recipe
    whose shares sum to s < 1 is at least 1 - s from everything: that is added."""
    if len(reference) == 0:
        return np.full(len(x), np.inf)
    missing = np.clip(1.0 - x.sum(1), 0.0, None)
    out = np.empty(len(x))
    for start in range(0, len(x), chunk):
        d = cdist(x[start:start + chunk], reference, metric="cityblock")
        if exclude_self:
            rows = np.arange(start, min(start + chunk, len(x)))
            d[rows - start, rows] = np.inf
        out[start:start + chunk] = d.min(1)
    return out + missing
