"""Ingredient substitution: give ingredient A the vector of ingredient B and re-predict.

If the Mixer's ingredient vectors mean something, swapping A for an ingredient an expert would
use instead (``expert``), for its nearest neighbour in embedding space (``nearest``) or for
another member of its family (``same_group``) should move predictions less than swapping it for
an arbitrary ingredient (``random``, the null). Only the vector changes: the amounts, the other
ingredients and the rest of the model stay as they are.

For each tested ingredient A, every recipe among the given formulations that contains A is
predicted (for its measured properties, or for the properties asked for), once with the original
vectors and once per donor, all donors in batched forward passes. Changes are reported in
model units (the property's standardised, possibly log-transformed units) and in original
units; the change in absolute error uses only (formulation, property) pairs with a
measurement, against their mean measured value.

Donors are drawn from the ingredients that occur in the model's training recipes (others have
untrained vectors). ``random`` donors are ``n_random`` of them, seeded per ingredient, from all
other ingredients (``random_pool="all"``, so the null is "any ingredient", which may include A's
own family) or only from other expert groups (``"other_groups"``, a stricter contrast).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from models.data import Dataset
from models.encoding import Encoder
from models.mixer import Mixer
from models.modes import evaluation
from models.trained import TrainedModel
from xai.cases import Cases, make_cases
from xai.representation.substitution_summary import ALPHA, headline
from xai.stats import Interval, empirical_pvalue, finite_mean, mean_intervals

if TYPE_CHECKING:
    import pandas as pd

DONOR_KINDS = ("expert", "nearest", "same_group", "random")
RANDOM_POOLS = ("all", "other_groups")


@dataclass(frozen=True)
class SwapResult:
    """One swap A -> donor, for one property, over the ``n_cases`` recipes that contain A.

    Prediction changes are means over those recipes of (swapped - original): ``mean_change`` and
    ``mean_abs_change`` in model units, the ``_original`` ones in the property's original units,
    with a paired bootstrap interval (``change_low``/``change_high``, model units).
    ``error_change`` is the mean change in absolute error, original units, over the
    ``n_measured`` measured recipes (negative: the swap predicts better), with its interval.
    ``p_value`` is the share of random donors whose ``mean_abs_change`` is at most this swap's
    (+1 corrected): small when the swap disturbs less than random ones. For the ``random`` kind
    the row averages its ``n_donors`` donors (``donor`` is empty) and has no p-value.
    """

    ingredient: str
    donor: str
    donor_kind: str
    property: str
    n_cases: int
    n_measured: int
    n_donors: int
    distance: float
    mean_change: float
    mean_abs_change: float
    change_low: float
    change_high: float
    mean_change_original: float
    mean_abs_change_original: float
    error_change: float
    error_change_low: float
    error_change_high: float
    p_value: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IngredientSubstitution:
    """Every swap, per-ingredient summaries pooled over properties, and the headline.

    ``per_ingredient`` rows (ingredient, donor_kind, donor, n_cases, mean_abs_change,
    error_change, p_value) pool all properties of the recipes containing the ingredient, in
    model units, which are comparable across properties. ``random_donors`` lists the null donors
    drawn per ingredient; ``skipped`` says which requested swaps could not be run and why.
    """

    swaps: list[SwapResult]
    per_ingredient: list[dict]
    headline: dict
    random_donors: dict[str, list[str]]
    skipped: list[dict]
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "swaps": [s.to_dict() for s in self.swaps],
            "per_ingredient": [dict(r) for r in self.per_ingredient],
            "headline": self.headline,
            "random_donors": {k: list(v) for k, v in self.random_donors.items()},
            "skipped": [dict(s) for s in self.skipped],
            "settings": dict(self.settings),
            "units": "changes in model units (standardised, after any log transform) and, where "
                     "named _original / error_change, in the property's original units",
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per swap (ingredient, donor, property; not a case), the columns of
        :class:`SwapResult`."""
        import pandas as pd

        columns = list(SwapResult.__dataclass_fields__)
        return pd.DataFrame([s.to_dict() for s in self.swaps], columns=columns)


@torch.no_grad()
def substituted_predictions(
    mixer: Mixer, cases: Cases, ingredient_id: int, donor_ids: Sequence[int], *,
    batch_size: int = 4096,
) -> np.ndarray:
    """(D, N) predictions, model units: row d with ingredient ``ingredient_id``'s vector replaced
    by ``donor_ids[d]``'s wherever it occurs; amounts and everything else unchanged.

    The D x N (donor, case) pairs go through the model in batches of ``batch_size`` rows,
    shortest recipes first, each batch cut to the slots its longest recipe uses: padded to the
    longest recipe of all, most of the work would be padding.
    """
    n, width = len(cases), cases.mask.shape[1]
    donors = mixer.ingredient_vectors(torch.as_tensor(list(donor_ids), dtype=torch.long))
    used = (cases.mask * torch.arange(1, width + 1)).amax(1)  # (N,) slots up to the last present
    order = torch.argsort(used, stable=True)
    case_of = order.repeat_interleave(len(donor_ids))
    donor_of = torch.arange(len(donor_ids)).repeat(n)
    out = torch.empty(len(donor_ids), n)
    for start in range(0, len(case_of), batch_size):
        rows, donor = case_of[start:start + batch_size], donor_of[start:start + batch_size]
        cut = max(int(used[rows].max()), 1)
        ids = cases.ids[rows, :cut]
        vectors = mixer.ingredient_vectors(ids)  # (B, cut, base_dim)
        hit = ids == ingredient_id  # (B, cut)
        vectors[hit] = donors[donor[:, None].expand_as(ids)[hit]]
        out[donor, rows] = mixer(cases.property_ids[rows], ids, cases.amounts[rows, :cut],
                                 cases.mask[rows, :cut], ingredient_vectors=vectors)
    return out.numpy().astype(np.float64)


def ingredient_substitution(
    model: TrainedModel,
    dataset: Dataset,
    formulation_ids: Sequence[str],
    *,
    donors: Sequence[str] = DONOR_KINDS,
    n_random: int = 20,
    n_frequent: int = 30,
    properties: Sequence[str] | None = None,
    random_pool: str = "all",
    n_bootstrap: int = 2000,
    seed: int = 0,
    batch_size: int = 4096,
    progress: bool = False,
) -> IngredientSubstitution:
    """Swap ingredient vectors in the recipes ``formulation_ids`` (usually the test split).

    Tested ingredients: every ingredient with an expert swap (``dataset.substitutions``) that
    occurs in these recipes, plus the ``n_frequent`` most frequent ones here. ``expert`` swaps
    run for the former; ``nearest`` (L2 on the ingredient table), ``same_group`` (the other
    member of A's expert group found in most training recipes) and ``random`` for all of them.
    Without ``properties`` the cases are the measured (formulation, property) pairs, so every
    prediction change has an error change beside it; with ``properties`` every recipe is
    predicted for each listed property (12 properties cost 12 forward rows per recipe).
    """
    unknown = sorted(set(donors) - set(DONOR_KINDS))
    if unknown:
        raise ValueError(f"unknown donor kinds {unknown}; choose from {DONOR_KINDS}")
    if random_pool not in RANDOM_POOLS:
        raise ValueError(f"random_pool must be one of {RANDOM_POOLS}, not {random_pool!r}")
    cases = make_cases(model, dataset, list(formulation_ids),
                       list(properties) if properties is not None else None)
    encoder, mixer = model.encoder, model.mixer
    recipes = dataset.recipes()
    trained_ids = model.split.train if model.split is not None else list(recipes)
    train_counts = Counter(c for f in trained_ids if f in recipes for c in set(recipes[f][0]))
    pool = [c for c in encoder.ingredients if train_counts[c] > 0]
    here = Counter(c for f in dict.fromkeys(formulation_ids) for c in set(recipes[f][0]))
    expert, skipped = (_expert_swaps(dataset, encoder.ingredients, set(pool), here)
                       if "expert" in donors else ({}, []))
    known = set(encoder.ingredients)
    frequent = sorted((c for c in here if c in known), key=lambda c: (-here[c], c))[:n_frequent]
    targets = sorted(set(frequent) | set(expert), key=lambda c: (-here[c], c))
    with evaluation(mixer):
        with torch.no_grad():
            table = mixer.ingredient_table().numpy().astype(np.float64)  # (n_ingr. - 1, base)
        groups = dataset.ingredient_groups()
        context = _Context(mixer, encoder, table, pool, train_counts, groups, random_pool,
                           n_random, n_bootstrap, batch_size)

        swaps: list[SwapResult] = []
        per_ingredient: list[dict] = []
        random_donors: dict[str, list[str]] = {}
        for index, a in enumerate(tqdm(targets, desc="substitution", disable=not progress)):
            if not (cases.ids == encoder.ingredient_id(a)).any():
                skipped.append({"ingredient": a, "donor": "", "donor_kind": "",
                                "reason": "no case: its recipes have no measured property"})
                continue
            chosen = _choose_donors(context, a, expert.get(a, []), donors,
                                    np.random.default_rng([seed, index]), skipped)
            if "random" in donors:
                random_donors[a] = [b for kind, b in chosen if kind == "random"]
            rows, pooled = _run_ingredient(context, cases, a, chosen, seed)
            swaps.extend(rows)
            per_ingredient.extend(pooled)
        return IngredientSubstitution(
            swaps=swaps,
            per_ingredient=per_ingredient,
            headline=headline(per_ingredient, swaps, donors),
            random_donors=random_donors,
            skipped=skipped,
            settings={"donors": list(donors), "n_random": n_random, "n_frequent": n_frequent,
                      "random_pool": random_pool, "n_bootstrap": n_bootstrap, "seed": seed,
                      "n_formulations": len(set(formulation_ids)), "properties": sorted(
                          set(cases.properties)), "alpha": ALPHA},
        )


@dataclass(frozen=True)
class _Context:
    mixer: Mixer
    encoder: Encoder
    table: np.ndarray
    pool: list[str]
    train_counts: Counter
    groups: dict[str, str]
    random_pool: str
    n_random: int
    n_bootstrap: int
    batch_size: int

    def vector(self, code: str) -> np.ndarray:
        return self.table[self.encoder.ingredient_id(code) - 1]

    def distance(self, a: str, b: str) -> float:
        """L2 distance between two ingredients' vectors; NaN without a donor (``b`` empty)."""
        return float(np.linalg.norm(self.vector(b) - self.vector(a))) if b else float("nan")


def _expert_swaps(
    dataset: Dataset, vocabulary: Sequence[str], trained: set[str], here: Counter
) -> tuple[dict[str, list[str]], list[dict]]:
    """Expert substitutes per ingredient, and the expert swaps that cannot be run."""
    swaps: dict[str, list[str]] = {}
    skipped = []
    if dataset.substitutions is None:
        return swaps, skipped
    known = set(vocabulary)
    for a, b in dataset.substitutions[["ingredient", "substitute"]].itertuples(index=False):
        reason = (
            "same ingredient" if a == b
            else "ingredient unknown to the model" if a not in known
            else "ingredient not in the analysed recipes" if here[a] == 0
            else "substitute unknown to the model" if b not in known
            else "substitute in no training recipe: its vector is untrained" if b not in trained
            else None
        )
        if reason:
            skipped.append({"ingredient": a, "donor": b, "donor_kind": "expert", "reason": reason})
        elif b not in swaps.setdefault(a, []):
            swaps[a].append(b)
    return swaps, skipped


def _choose_donors(
    ctx: _Context, a: str, experts: list[str], kinds: Sequence[str], rng: np.random.Generator,
    skipped: list[dict],
) -> list[tuple[str, str]]:
    """(kind, donor) pairs for ingredient ``a``."""
    chosen = [("expert", b) for b in experts]
    others = [c for c in ctx.pool if c != a]
    if "nearest" in kinds and others:
        distances = np.linalg.norm(ctx.table[[ctx.encoder.ingredient_id(c) - 1 for c in others]]
                                   - ctx.vector(a), axis=1)
        chosen.append(("nearest", others[int(np.argmin(distances))]))
    group = ctx.groups.get(a)
    if "same_group" in kinds:
        members = sorted((c for c in others if group is not None and ctx.groups.get(c) == group),
                         key=lambda c: (-ctx.train_counts[c], c))
        if members:
            chosen.append(("same_group", members[0]))
        else:
            skipped.append({"ingredient": a, "donor": "", "donor_kind": "same_group",
                            "reason": "no expert group" if group is None
                            else "no other trained member of its group"})
    if "random" in kinds:
        candidates = others
        if ctx.random_pool == "other_groups":
            candidates = [c for c in others if group is None or ctx.groups.get(c) != group]
        take = min(ctx.n_random, len(candidates))
        picks = rng.choice(len(candidates), size=take, replace=False) if take else []
        chosen.extend(("random", candidates[i]) for i in sorted(picks))
    return chosen


def _run_ingredient(
    ctx: _Context, cases: Cases, a: str, chosen: list[tuple[str, str]], seed: int
) -> tuple[list[SwapResult], list[dict]]:
    """Predict the recipes holding ``a`` once per donor; summarise per property and pooled."""
    a_id = ctx.encoder.ingredient_id(a)
    sub = cases.select(np.flatnonzero((cases.ids == a_id).any(1).numpy()))
    props = np.asarray(sub.properties, dtype=object)
    donor_ids = [a_id] + [ctx.encoder.ingredient_id(b) for _, b in chosen]
    predictions = substituted_predictions(ctx.mixer, sub, a_id, donor_ids,
                                          batch_size=ctx.batch_size)  # (1 + D, N)
    base = predictions[0]  # A "swapped" for itself: the original prediction
    y = sub.measured
    measured = np.isfinite(y)
    to_orig = ctx.encoder.from_standard
    base_orig = to_orig(list(props), base)
    z_y = np.full(len(y), np.nan)
    z_y[measured] = ctx.encoder.to_standard(list(props[measured]), y[measured])

    changes: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for (kind, b), z in zip(chosen, predictions[1:], strict=True):
        orig = to_orig(list(props), z)
        changes[(kind, b)] = {
            "change": z - base,
            "change_original": orig - base_orig,
            "error_change": np.abs(orig - y) - np.abs(base_orig - y),  # NaN where unmeasured
            "error_change_z": np.abs(z - z_y) - np.abs(base - z_y),
        }
    randoms = [v for (kind, _), v in changes.items() if kind == "random"]
    rows, pooled = [], []
    prop_names = sorted(set(sub.properties))
    null = {p: np.array([np.mean(np.abs(v["change"][props == p])) for v in randoms])
            for p in prop_names}
    null_pooled = np.array([np.mean(np.abs(v["change"])) for v in randoms])
    entries = [(kind, b, {**v, "abs_change": np.abs(v["change"])}, 1)
               for (kind, b), v in changes.items() if kind != "random"]
    if randoms:
        averaged = {key: np.mean([v[key] for v in randoms], axis=0) for key in randoms[0]}
        averaged["abs_change"] = np.mean([np.abs(v["change"]) for v in randoms], axis=0)
        entries.append(("random", "", averaged, len(randoms)))
    # every interval of this ingredient in one go: those of equal length share their resamples
    cells = [(entry, p, props == p) for entry in entries for p in prop_names]
    intervals = iter(mean_intervals(
        [sample for (_, _, v, _), _, here in cells
         for sample in (v["change"][here], v["error_change"][here & measured])],
        n_resamples=ctx.n_bootstrap, seed=seed))
    distance = {b: ctx.distance(a, b) for _, b, _, _ in entries}
    for (kind, b, v, n_donors), p, here in cells:
        rows.append(_swap_row(a, b, kind, p, v, here, measured, distance[b], n_donors,
                              null[p] if kind != "random" else np.zeros(0),
                              next(intervals), next(intervals)))
    for kind, b, v, n_donors in entries:
        pooled_abs = float(np.mean(v["abs_change"]))
        pooled.append({
            "ingredient": a, "donor_kind": kind, "donor": b, "n_donors": n_donors,
            "n_cases": len(sub), "n_recipes": len(set(sub.formulation_ids)),
            "distance": distance[b], "mean_abs_change": pooled_abs,
            "error_change": finite_mean(v["error_change_z"][measured]),
            "p_value": empirical_pvalue(pooled_abs, null_pooled) if kind != "random"
            else float("nan"),
        })
    return rows, pooled


def _swap_row(
    a: str, b: str, kind: str, prop: str, v: dict[str, np.ndarray], here: np.ndarray,
    measured: np.ndarray, distance: float, n_donors: int, null: np.ndarray, change: Interval,
    error: Interval,
) -> SwapResult:
    """One (ingredient, donor, property) row; ``change`` and ``error`` are the intervals of the
    mean prediction change and error change over the property's cases."""
    mean_abs = float(np.mean(v["abs_change"][here]))
    return SwapResult(
        ingredient=a, donor=b, donor_kind=kind, property=prop, n_cases=int(here.sum()),
        n_measured=int((here & measured).sum()), n_donors=n_donors, distance=distance,
        mean_change=change.estimate, mean_abs_change=mean_abs,
        change_low=change.low, change_high=change.high,
        mean_change_original=finite_mean(v["change_original"][here]),
        mean_abs_change_original=finite_mean(np.abs(v["change_original"][here])),
        error_change=error.estimate, error_change_low=error.low, error_change_high=error.high,
        p_value=empirical_pvalue(mean_abs, null) if len(null) else float("nan"),
    )
