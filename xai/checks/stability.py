"""Whether an attribution would come out the same from another model fitted to the same data,
and whether two attribution methods point the same way.

A cross-fitted ensemble (:mod:`models.ensemble`) gives K models trained on different folds of
the same recipes. :func:`member_stability` takes one attribution set per member, for the same
cases, and per (property, ingredient) over the explained recipes holding the ingredient asks:

rank correlation
    the mean over member pairs of the Spearman correlation (``scipy.stats.spearmanr``) between
    the two members' attributions of the ingredient across those recipes: do the members agree
    in which recipes it matters more? Undefined (NaN, with a reason) with fewer than
    :data:`MIN_RANK_RECIPES` recipes, or when every pair has a member whose values are constant.
sign flips
    the share of those recipes in which some member's attribution is non-negligible (at least
    :data:`NEGLIGIBLE_SHARE` of that member's largest |attribution| in the case, see
    :func:`non_negligible`) and of the opposite sign to the members' mean; recipes where no
    member's value is non-negligible do not count. NaN when no recipe counts.

An attribution is **stable** when it rests on at least :data:`MIN_RECIPES` recipes, its rank
correlation is at least :data:`MIN_RANK_CORRELATION` and its sign-flip share at most
:data:`MAX_SIGN_FLIPS` (a share with no counted recipe does not block it).

:func:`sign_disagreement` compares two methods (Integrated Gradients and Shapley values) on the
same model: per (property, ingredient), the share of recipes where the two have opposite signs
(:func:`opposite_signs`, the per-case flag of the review pages), among those where either value
is at least :data:`NEGLIGIBLE_SHARE` of the case's largest |value| in both sets.

Everything is in the property's standardised model units; nothing here runs a model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy.stats import spearmanr

from xai.attribution.results import Attribution

NEGLIGIBLE_SHARE = 0.1  # |value| below this share of the case's largest |attribution| has no sign
MIN_RECIPES = 5  # recipes holding the ingredient (per property) before any verdict
MIN_RANK_RECIPES = 3  # a rank correlation over fewer recipes is not computed
MIN_RANK_CORRELATION = 0.5  # mean pairwise Spearman a stable attribution reaches
MAX_SIGN_FLIPS = 0.2  # share of counted recipes with a member against the mean's sign
DISAGREEMENT_SHARE = 0.5  # methods disagree on an ingredient past this share of opposite signs

__all__ = ["DISAGREEMENT_SHARE", "MAX_SIGN_FLIPS", "MIN_RANK_CORRELATION", "MIN_RECIPES",
           "NEGLIGIBLE_SHARE", "SignDisagreement", "Stability", "describe_absence",
           "member_stability", "non_negligible", "opposite_signs", "sign_disagreement"]


def non_negligible(values: np.ndarray, *, share: float = NEGLIGIBLE_SHARE) -> np.ndarray:
    """Bool, shaped like ``values`` (..., N, T): values whose magnitude is at least ``share`` of
    the largest finite |value| of their case (row), so each attribution set of a (K, N, T)
    stack is judged against its own scale. NaN entries and rows whose scale is 0 are never
    non-negligible."""
    size = np.abs(values)
    finite = np.isfinite(size)
    scale = np.where(finite, size, 0.0).max(axis=-1, keepdims=True, initial=0.0)
    return finite & (scale > 0) & (size >= share * scale)


def _either_non_negligible(a: np.ndarray, b: np.ndarray, share: float) -> np.ndarray:
    """(N, T) bool: either of ``a``, ``b`` (N, T) is non-negligible against the case's largest
    |value| in both sets together."""
    width = a.shape[1]
    big = non_negligible(np.concatenate([a, b], axis=1), share=share)
    return big[:, :width] | big[:, width:]


def opposite_signs(a: np.ndarray, b: np.ndarray, *,
                   share: float = NEGLIGIBLE_SHARE) -> np.ndarray:
    """(N, T) bool: slots where ``a`` and ``b`` (both (N, T), finite) have different signs and
    at least one of them is at least ``share`` of the case's largest |value| in either set
    (the review pages' "opposite signs" flag)."""
    both = np.isfinite(a) & np.isfinite(b)
    return both & _either_non_negligible(a, b, share) & (np.sign(a) != np.sign(b))


@dataclass(frozen=True)
class Stability:
    """How far K members agree on one method's attributions, per (property, ingredient).

    Parallel arrays over E entries, sorted by property then ingredient: ``n_recipes`` (E,)
    recipes holding the ingredient with a value from every member; ``rank_correlation`` (E,)
    the mean pairwise Spearman correlation (NaN where undefined, ``rank_reason`` says why;
    ``""`` where defined); ``n_signed`` (E,) recipes with a non-negligible value;
    ``sign_flip_share`` (E,) the share of those with a member against the mean's sign (NaN
    when none); ``stable`` (E,) the verdict of the rule in the module docstring.
    """

    method: str
    n_members: int
    properties: tuple[str, ...]
    ingredients: tuple[str, ...]
    n_recipes: np.ndarray
    rank_correlation: np.ndarray
    rank_reason: tuple[str, ...]
    n_signed: np.ndarray
    sign_flip_share: np.ndarray
    stable: np.ndarray
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.properties)

    def to_dict(self) -> dict:
        """``per_property``: property -> one entry per ingredient (NaN left for the caller's
        strict-JSON policy)."""
        per_property: dict[str, list[dict]] = defaultdict(list)
        for e in range(len(self)):
            per_property[self.properties[e]].append({
                "ingredient": self.ingredients[e], "n": int(self.n_recipes[e]),
                "rank_correlation": float(self.rank_correlation[e]),
                "rank_reason": self.rank_reason[e], "n_signed": int(self.n_signed[e]),
                "sign_flip_share": float(self.sign_flip_share[e]),
                "stable": bool(self.stable[e])})
        return {"method": self.method, "n_members": self.n_members, "settings": self.settings,
                "n_stable": int(self.stable.sum()), "n_entries": len(self),
                "per_property": dict(per_property)}


def member_stability(members: Sequence[Attribution], *, share: float = NEGLIGIBLE_SHARE,
                     min_recipes: int = MIN_RECIPES,
                     min_rank_correlation: float = MIN_RANK_CORRELATION,
                     max_sign_flips: float = MAX_SIGN_FLIPS) -> Stability:
    """Rank correlation, sign flips and the stability verdict of each (property, ingredient)
    over ``members``: one attribution set per ensemble member (at least two), all of the same
    method and for the same cases in the same order."""
    if len(members) < 2:
        raise ValueError("stability needs at least two members")
    first = members[0]
    for m in members[1:]:
        if (m.formulation_ids, m.properties) != (first.formulation_ids, first.properties):
            raise ValueError("every member must explain the same cases in the same order")
    width = min(m.values.shape[1] for m in members)
    values = np.stack([m.values[:, :width] for m in members])  # (K, N, T)
    return _stability(values, first, share, min_recipes, min_rank_correlation, max_sign_flips)


def _stability(values: np.ndarray, first: Attribution, share: float, min_recipes: int,
               min_rank: float, max_flips: float) -> Stability:
    big = non_negligible(values, share=share)
    mean_sign = np.sign(values.mean(0))  # (N, T)
    against = (big & (np.sign(values) != mean_sign[None])).any(0)  # (N, T)
    counted = big.any(0)
    groups = _groups(first, np.isfinite(values).all(0))
    keys = sorted(groups)
    n = np.array([len(groups[k][0]) for k in keys], dtype=np.int64)
    rank, reasons, n_signed, flips = [], [], [], []
    for key in keys:
        rows, slots = groups[key]
        rho, why = _mean_spearman(values[:, rows, slots])
        rank.append(rho)
        reasons.append(why)
        n_signed.append(int(counted[rows, slots].sum()))
        flips.append(against[rows, slots].sum() / n_signed[-1] if n_signed[-1] else np.nan)
    rank_a, flips_a = np.array(rank, dtype=float), np.array(flips, dtype=float)
    with np.errstate(invalid="ignore"):
        stable = ((n >= min_recipes) & (rank_a >= min_rank)
                  & ~(flips_a > max_flips))  # a NaN share (nothing counted) does not block
    return Stability(
        method=first.method, n_members=len(values),
        properties=tuple(p for p, _ in keys), ingredients=tuple(i for _, i in keys),
        n_recipes=n, rank_correlation=rank_a, rank_reason=tuple(reasons),
        n_signed=np.array(n_signed, dtype=np.int64), sign_flip_share=flips_a,
        stable=stable.astype(bool),
        settings={"negligible_share": share, "min_recipes": min_recipes,
                  "min_rank_recipes": MIN_RANK_RECIPES, "min_rank_correlation": min_rank,
                  "max_sign_flips": max_flips, "units": "standardised model units"})


def _mean_spearman(x: np.ndarray) -> tuple[float, str]:
    """Mean Spearman correlation over the pairs of rows of ``x`` (K, n), skipping pairs with a
    constant row; (NaN, reason) when none is defined."""
    if x.shape[1] < MIN_RANK_RECIPES:
        return float("nan"), f"fewer than {MIN_RANK_RECIPES} recipes"
    rhos = [spearmanr(x[k], x[j]).statistic for k, j in combinations(range(len(x)), 2)
            if np.ptp(x[k]) > 0 and np.ptp(x[j]) > 0]
    if not rhos:
        return float("nan"), "a member's attributions are the same in every recipe"
    return float(np.mean(rhos)), ""


def _groups(attribution: Attribution,
            defined: np.ndarray) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """(property, ingredient) -> (case rows, slots) of the cases holding the ingredient as a
    player with every value ``defined`` ((N, T) bool)."""
    found: dict[tuple[str, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, names in enumerate(attribution.ingredients):
        for j, name in enumerate(names[: defined.shape[1]]):
            if defined[i, j]:
                rows, slots = found[(attribution.properties[i], name)]
                rows.append(i)
                slots.append(j)
    return {k: (np.array(r, dtype=np.int64), np.array(s, dtype=np.int64))
            for k, (r, s) in found.items()}


@dataclass(frozen=True)
class SignDisagreement:
    """How often two methods give one ingredient opposite signs, per (property, ingredient).

    Parallel arrays over E entries, sorted by property then ingredient: ``n_recipes`` (E,)
    recipes holding the ingredient with both values defined; ``n_signed`` (E,) those where
    either value is non-negligible; ``n_opposite`` (E,) those with opposite signs;
    ``share`` (E,) n_opposite / n_signed (NaN when nothing is counted); ``flagged`` (E,) share
    above :data:`DISAGREEMENT_SHARE` on at least :data:`MIN_RECIPES` counted recipes.
    ``baselines`` says what "absent" meant for each method, by name.
    """

    methods: tuple[str, str]
    properties: tuple[str, ...]
    ingredients: tuple[str, ...]
    n_recipes: np.ndarray
    n_signed: np.ndarray
    n_opposite: np.ndarray
    share: np.ndarray
    flagged: np.ndarray
    baselines: dict[str, str]
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.properties)

    def to_dict(self) -> dict:
        """Every entry under ``per_property`` and the flagged ones, largest share first, under
        ``flagged``."""
        per_property: dict[str, list[dict]] = defaultdict(list)
        flagged = []
        for e in range(len(self)):
            entry = {"ingredient": self.ingredients[e], "n": int(self.n_recipes[e]),
                     "n_signed": int(self.n_signed[e]), "n_opposite": int(self.n_opposite[e]),
                     "share": float(self.share[e]), "flagged": bool(self.flagged[e])}
            per_property[self.properties[e]].append(entry)
            if self.flagged[e]:
                flagged.append({"property": self.properties[e], **entry})
        flagged.sort(key=lambda f: (-f["share"], f["property"], f["ingredient"]))
        return {"methods": list(self.methods), "baselines": self.baselines,
                "settings": self.settings, "flagged": flagged,
                "per_property": dict(per_property)}


def sign_disagreement(a: Attribution, b: Attribution, *, names: tuple[str, str] | None = None,
                      share: float = NEGLIGIBLE_SHARE, threshold: float = DISAGREEMENT_SHARE,
                      min_recipes: int = MIN_RECIPES) -> SignDisagreement:
    """Per (property, ingredient), the share of recipes where ``a`` and ``b`` (two methods'
    attributions of the same cases, e.g. Integrated Gradients and Shapley values) have opposite
    signs, among those where either value is non-negligible (see :func:`opposite_signs`).
    ``names`` label the two methods (default: their ``method``)."""
    if (a.formulation_ids, a.properties) != (b.formulation_ids, b.properties):
        raise ValueError("the two attribution sets must explain the same cases in the same order")
    width = min(a.values.shape[1], b.values.shape[1])
    va, vb = a.values[:, :width], b.values[:, :width]
    defined = np.isfinite(va) & np.isfinite(vb)
    counted = defined & _either_non_negligible(va, vb, share)
    opposite = opposite_signs(va, vb, share=share)
    groups = _groups(a, defined)
    keys = sorted(groups)
    n = np.array([len(groups[k][0]) for k in keys], dtype=np.int64)
    n_signed = np.array([counted[groups[k]].sum() for k in keys], dtype=np.int64)
    n_opposite = np.array([opposite[groups[k]].sum() for k in keys], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(n_signed > 0, n_opposite / np.maximum(n_signed, 1), np.nan)
    names = names or (a.method, b.method)
    return SignDisagreement(
        methods=tuple(names), properties=tuple(p for p, _ in keys),
        ingredients=tuple(i for _, i in keys), n_recipes=n, n_signed=n_signed,
        n_opposite=n_opposite, share=ratio,
        flagged=(n_signed >= min_recipes) & (np.nan_to_num(ratio) > threshold),
        baselines={names[0]: describe_absence(a), names[1]: describe_absence(b)},
        settings={"negligible_share": share, "threshold": threshold,
                  "min_recipes": min_recipes, "absence": str(a.absence),
                  "balance_ingredient": a.absence.balance_ingredient})


_SHAPLEY_ABSENT = {
    "removed": "its token is removed from the recipe (the other amounts unchanged)",
    "balance": "its token is removed and its amount given to the balance ingredient, so the "
               "recipe keeps its total",
    "zero": "its token stays with amount 0 (the other amounts unchanged)",
}


def describe_absence(attribution: Attribution) -> str:
    """What "absent" meant for ``attribution``, as a sentence: the path baseline Integrated
    Gradients recorded (``settings["baseline"]``), else the coalition absence of Shapley
    values."""
    baseline = attribution.settings.get("baseline")
    if baseline:
        return ("Integrated Gradients integrate the gradient with respect to the players' "
                "amounts along a straight path to the recipe from a baseline with "
                f"{baseline}; every ingredient token stays in the recipe along the path.")
    return ("A Shapley value averages, over coalitions of the other ingredients, the change in "
            "prediction when the ingredient joins; an ingredient outside a coalition is "
            f"absent: {_SHAPLEY_ABSENT[attribution.absence.kind]}.")
