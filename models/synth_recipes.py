"""Recipe sampler of the synthetic formulation generator.

A recipe is first given a type (emulsion, gel or aqueous solution) and a complexity; the type sets
how many ingredients of each family it tends to hold, the complexity scales those counts. Codes
are drawn inside each family by popularity, amounts log-uniformly inside the family's wt% range,
and water makes up the balance to exactly 100.
"""

from __future__ import annotations

import numpy as np

from models.synth_catalogue import Catalogue, family_spec

MIN_INGREDIENTS = 5
MAX_INGREDIENTS = 40
WATER_RANGE = (40.0, 85.0)
DECIMALS = 4

RECIPE_TYPES: dict[str, float] = {"emulsion": 0.6, "gel": 0.2, "aqueous": 0.2}

# Expected number of ingredients per family at complexity 1 (neutralisers are handled apart).
MEAN_COUNTS: dict[str, dict[str, float]] = {
    "emulsion": {"humectant": 1.8, "emollient": 3.5, "emulsifier": 1.8, "polymer": 0.5,
                 "carbomer": 0.3, "wax": 1.2, "acid": 0.3, "preservative": 1.8, "active": 2.2},
    "gel": {"humectant": 1.8, "emollient": 0.4, "emulsifier": 0.3, "polymer": 0.8,
            "carbomer": 1.0, "wax": 0.1, "acid": 0.3, "preservative": 1.8, "active": 2.0},
    "aqueous": {"humectant": 2.5, "emollient": 0.2, "emulsifier": 0.3, "polymer": 0.4,
                "carbomer": 0.1, "wax": 0.0, "acid": 0.5, "preservative": 1.8, "active": 2.8},
}
NEUTRALISED_SHARE = 0.78      # share of carbomer recipes that hold a neutraliser
STRAY_BASE_RATE = 0.15        # chance of a pH-raising base in a recipe without carbomer
NEUTRALISER_RATIO = (0.1, 1.8)  # neutraliser wt% / carbomer wt%
KITCHEN_SINK_RATE = 0.01      # share of recipes with a very long ingredient list
# Families trimmed first when a recipe is too long; the ones at the end only last.
TRIM_ORDER = ("active", "emollient", "humectant", "preservative", "emulsifier", "wax",
              "polymer", "acid")
SCALABLE = ("humectant", "emollient", "active")  # families scaled down when water would be < 40
THIN_SOLIDS = (15.0, 30.0)  # wt% of non-water drawn for recipes too thin for the water range
THIN_MAX_HUMECTANT = 14.99
ROUNDING_MARGIN = 0.005  # wt% kept from the water bounds so rounding cannot cross them


def sample_recipes(
    catalogue: Catalogue, n_formulations: int, rng: np.random.Generator
) -> list[dict[str, float]]:
    """Draw ``n_formulations`` recipes as ``{code: wt%}`` dicts summing to 100 (water included)."""
    recipes = [_sample_counts_and_amounts(catalogue, rng) for _ in range(n_formulations)]
    _place_rare(catalogue, recipes, rng)
    return [_finish(catalogue, r, rng) for r in recipes]


def _sample_counts_and_amounts(catalogue: Catalogue, rng: np.random.Generator) -> dict[str, float]:
    kind = rng.choice(list(RECIPE_TYPES), p=list(RECIPE_TYPES.values()))
    complexity = 3.0 if rng.random() < KITCHEN_SINK_RATE else float(np.exp(rng.normal(0.0, 0.4)))
    counts = {fam: int(rng.poisson(mean * complexity)) for fam, mean in MEAN_COUNTS[kind].items()}
    counts["humectant"] = max(counts["humectant"], 1)
    counts["preservative"] = max(counts["preservative"], 1)
    if kind == "emulsion":
        counts["emollient"] = max(counts["emollient"], 1)
    if kind == "gel" and counts["carbomer"] + counts["polymer"] == 0:
        counts["carbomer" if rng.random() < 0.7 else "polymer"] = 1
    for fam in counts:
        counts[fam] = min(counts[fam], _n_common(catalogue, fam))
    if counts["carbomer"] > 0:
        neutralised = rng.random() < NEUTRALISED_SHARE
        counts["neutraliser"] = int(neutralised) * (1 + int(rng.random() < 0.15))
    else:
        counts["neutraliser"] = int(rng.random() < STRAY_BASE_RATE)
    _fit_length(counts, rng)

    recipe: dict[str, float] = {}
    for fam in ("humectant", "emollient", "emulsifier", "polymer", "carbomer", "wax", "acid",
                "preservative", "active"):
        recipe.update(_draw_family(catalogue, fam, counts[fam], rng))
    if counts["neutraliser"]:
        codes = _draw_codes(catalogue, "neutraliser", counts["neutraliser"], rng)
        carbomer = sum(a for c, a in recipe.items() if catalogue.family[c] == "carbomer")
        if carbomer > 0:
            total = carbomer * rng.uniform(*NEUTRALISER_RATIO)
            amounts = total * rng.dirichlet(np.ones(len(codes)))
        else:
            amounts = _log_uniform(rng, (0.05, 0.8), len(codes))
        amounts = _cap(amounts, family_spec("neutraliser").total_cap)
        recipe.update(zip(codes, amounts.tolist(), strict=True))
    return recipe


def _n_common(catalogue: Catalogue, family: str) -> int:
    return sum(catalogue.popularity[c] > 0 for c in catalogue.members[family])


def _fit_length(counts: dict[str, int], rng: np.random.Generator) -> None:
    """Add or trim ingredients so that the recipe, water included, has 5 to 40 of them."""
    while 1 + sum(counts.values()) < MIN_INGREDIENTS:
        counts[("humectant", "active", "preservative")[int(rng.integers(3))]] += 1
    while 1 + sum(counts.values()) > MAX_INGREDIENTS:
        minimum = {"humectant": 1, "preservative": 1, "emollient": 1}
        fam = max(TRIM_ORDER, key=lambda f: counts[f] - minimum.get(f, 0))
        counts[fam] -= 1


def _draw_codes(
    catalogue: Catalogue, family: str, k: int, rng: np.random.Generator
) -> list[str]:
    members = catalogue.members[family]
    weights = np.array([catalogue.popularity[c] for c in members])
    # Weighted sampling without replacement: the k smallest Exp(1) / weight keys.
    with np.errstate(divide="ignore"):
        keys = rng.exponential(size=len(members)) / weights
    return [members[i] for i in np.argsort(keys, kind="stable")[:k]]


def _draw_family(
    catalogue: Catalogue, family: str, k: int, rng: np.random.Generator
) -> dict[str, float]:
    if k == 0:
        return {}
    spec = family_spec(family)
    codes = _draw_codes(catalogue, family, k, rng)
    amounts = _cap(_log_uniform(rng, spec.amount_range, k), spec.total_cap)
    return dict(zip(codes, amounts.tolist(), strict=True))


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], k: int) -> np.ndarray:
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(rng.uniform(lo, hi, size=k))


def _cap(amounts: np.ndarray, total_cap: float) -> np.ndarray:
    total = amounts.sum()
    return amounts * (total_cap / total) if total > total_cap else amounts


def _place_rare(
    catalogue: Catalogue, recipes: list[dict[str, float]], rng: np.random.Generator
) -> None:
    """Swap each rare code into its target number of recipes, replacing a same-family member."""
    for code, target in sorted(catalogue.rare.items()):
        fam = catalogue.family[code]
        hosts = [
            i for i, r in enumerate(recipes)
            if any(catalogue.family[c] == fam and c not in catalogue.rare for c in r)
        ]
        if not hosts:
            continue
        chosen = rng.choice(len(hosts), size=min(target, len(hosts)), replace=False)
        for j in sorted(chosen.tolist()):
            recipe = recipes[hosts[j]]
            old = next(c for c in recipe if catalogue.family[c] == fam and c not in catalogue.rare)
            recipe[code] = recipe.pop(old)


def _finish(
    catalogue: Catalogue, recipe: dict[str, float], rng: np.random.Generator
) -> dict[str, float]:
    """Keep water between 40 and 85 wt%, round to fixed decimals, and add water as the balance."""
    lo_water, hi_water = WATER_RANGE
    solids = sum(recipe.values())
    if solids > 100.0 - lo_water - ROUNDING_MARGIN:
        scalable = sum(a for c, a in recipe.items() if catalogue.family[c] in SCALABLE)
        factor = (scalable - (solids - (100.0 - lo_water - ROUNDING_MARGIN))) / scalable
        recipe = {
            c: a * factor if catalogue.family[c] in SCALABLE else a for c, a in recipe.items()
        }
    elif solids < 100.0 - hi_water + ROUNDING_MARGIN:
        # Thin recipes get more humectant (every recipe holds one) up to a drawn solids content;
        # each humectant stays within its range, which always leaves water at 85 wt% or less.
        humectants = [a for c, a in recipe.items() if catalogue.family[c] == "humectant"]
        humectant = sum(humectants)
        at_range_top = solids - humectant + humectant * (THIN_MAX_HUMECTANT / max(humectants))
        target = max(100.0 - hi_water + ROUNDING_MARGIN,
                     min(rng.uniform(*THIN_SOLIDS), at_range_top))
        factor = (humectant + target - solids) / humectant
        recipe = {
            c: a * factor if catalogue.family[c] == "humectant" else a for c, a in recipe.items()
        }
    rounded = {c: max(round(a, DECIMALS), 10.0**-DECIMALS) for c, a in recipe.items()}
    water = round(100.0 - sum(rounded.values()), DECIMALS)
    if not lo_water <= water <= hi_water:
        # Rounding can leave water a few 1e-4 outside its range; the main humectant absorbs that.
        main = max((c for c in rounded if catalogue.family[c] == "humectant"), key=rounded.get)
        excess = water - min(max(water, lo_water), hi_water)
        rounded[main] = round(rounded[main] + excess, DECIMALS)
        water = round(100.0 - sum(rounded.values()), DECIMALS)
    return {catalogue.water: water, **rounded}
