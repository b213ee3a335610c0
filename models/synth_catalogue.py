"""Ingredient catalogue of the synthetic formulation generator.

Draws the opaque ingredient codes, assigns them to chemical families, names them, gives every
ingredient its own strength on each mechanism its family acts through, and proposes the expert
substitutions. Everything here depends on the seed only, never on how many recipes are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FamilySpec:
    """One family of raw materials.

    Attributes
    ----------
    family : family name, as written to ``ingredients.csv``.
    n_codes : how many ingredient codes the family has.
    amount_range : wt% of one ingredient of the family in a recipe, (low, high).
    total_cap : most wt% the whole family may take in one recipe.
    base_names : human-readable names, cycled with a variant number when the family is larger.
    """

    family: str
    n_codes: int
    amount_range: tuple[float, float]
    total_cap: float
    base_names: tuple[str, ...]


@dataclass(frozen=True)
class ChannelSpec:
    """One mechanism through which a family acts on properties.

    An ingredient's weight on the channel is ``family_effect * strength``, where ``strength`` is
    the ingredient's own lognormal factor with log-standard-deviation ``strength_sd``.
    """

    channel: str
    family: str
    family_effect: float
    strength_sd: float


FAMILIES: tuple[FamilySpec, ...] = (
    FamilySpec("water", 1, (40.0, 85.0), 85.0, ("Water (aqua)",)),
    FamilySpec("humectant", 14, (0.5, 15.0), 15.0, (
        "Glycerin", "Propylene glycol", "Butylene glycol", "Pentylene glycol", "Sorbitol",
        "Sodium PCA", "Betaine", "Hexylene glycol", "Propanediol", "Diglycerin", "Xylitol",
        "Glycereth-26", "Methyl gluceth-20", "Sodium lactate")),
    FamilySpec("emollient", 22, (1.0, 10.0), 22.0, (
        "Caprylic/capric triglyceride", "Isopropyl myristate", "Isopropyl palmitate",
        "Dimethicone", "Squalane", "Jojoba seed oil", "Sunflower seed oil", "Sweet almond oil",
        "Mineral oil", "Coco-caprylate", "Cetearyl isononanoate", "Octyldodecanol",
        "C12-15 alkyl benzoate", "Dicaprylyl carbonate", "Isononyl isononanoate",
        "Ethylhexyl palmitate", "Argan kernel oil", "Olive fruit oil", "Avocado oil",
        "Shea butter", "Hydrogenated polyisobutene", "Petrolatum")),
    FamilySpec("emulsifier", 16, (0.3, 5.0), 7.0, (
        "Polysorbate 20", "Polysorbate 60", "Polysorbate 80", "Ceteareth-20", "Steareth-2",
        "Steareth-21", "Glyceryl stearate SE", "PEG-100 stearate", "Sorbitan stearate",
        "Sorbitan oleate", "Cetearyl glucoside", "Lecithin", "Polyglyceryl-3 diisostearate",
        "Sodium stearoyl lactylate", "Potassium cetyl phosphate",
        "PEG-40 hydrogenated castor oil")),
    FamilySpec("polymer", 12, (0.1, 1.5), 2.0, (
        "Xanthan gum", "Hydroxyethylcellulose", "Sclerotium gum", "Guar gum",
        "Sodium polyacrylate", "Ammonium acryloyldimethyltaurate/VP copolymer",
        "Hydroxypropyl methylcellulose", "Carrageenan", "Gellan gum", "Polyacrylamide blend",
        "Magnesium aluminium silicate", "Cellulose gum")),
    FamilySpec("carbomer", 8, (0.1, 1.0), 1.2, (
        "Carbomer 940", "Carbomer 980", "Carbomer 934", "Carbomer Ultrez 10",
        "Acrylates/C10-30 alkyl acrylate crosspolymer")),
    FamilySpec("wax", 12, (0.5, 5.0), 8.0, (
        "Cetyl alcohol", "Stearyl alcohol", "Cetearyl alcohol", "Beeswax", "Carnauba wax",
        "Candelilla wax", "Microcrystalline wax", "Ozokerite", "Behenyl alcohol",
        "Glyceryl distearate", "Stearic acid", "Hydrogenated castor oil")),
    FamilySpec("neutraliser", 8, (0.05, 2.0), 2.0, (
        "Sodium hydroxide (18% solution)", "Triethanolamine", "Aminomethyl propanol",
        "Tromethamine", "Arginine", "Potassium hydroxide (10% solution)",
        "Aminomethyl propanediol", "Sodium bicarbonate")),
    FamilySpec("acid", 8, (0.05, 1.0), 1.5, (
        "Citric acid", "Lactic acid", "Glycolic acid", "Tartaric acid", "Malic acid",
        "Gluconolactone", "Succinic acid", "Phosphoric acid (10% solution)")),
    FamilySpec("preservative", 12, (0.1, 1.0), 1.5, (
        "Phenoxyethanol", "Ethylhexylglycerin", "Sodium benzoate", "Potassium sorbate",
        "Benzyl alcohol", "Dehydroacetic acid", "Methylparaben", "Propylparaben",
        "Caprylyl glycol", "Chlorphenesin", "Benzoic acid", "Sorbic acid")),
    FamilySpec("active", 16, (0.05, 5.0), 6.0, (
        "Niacinamide", "Panthenol", "Sodium hyaluronate", "Allantoin", "Tocopheryl acetate",
        "Ascorbic acid", "Salicylic acid", "Urea", "Ceramide NP", "Bisabolol", "Zinc PCA",
        "Magnesium ascorbyl phosphate", "Adenosine", "Madecassoside",
        "Sodium ascorbyl phosphate", "Aloe leaf juice powder")),
)

CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("carbomer_thickening", "carbomer", 1.0, 0.25),
    ChannelSpec("carbomer_acidity", "carbomer", 1.0, 0.0),
    ChannelSpec("polymer_thickening", "polymer", 1.0, 0.35),
    ChannelSpec("wax_structure", "wax", 1.0, 0.3),
    ChannelSpec("oil_phase", "emollient", 1.0, 0.25),
    ChannelSpec("oil_spread", "emollient", 1.0, 0.5),
    ChannelSpec("emulsifying", "emulsifier", 1.0, 0.35),
    ChannelSpec("neutralising", "neutraliser", 1.0, 0.3),
    ChannelSpec("acidifying", "acid", 0.6, 0.3),
    ChannelSpec("preservative_acidity", "preservative", 0.1, 0.6),
    ChannelSpec("humectancy", "humectant", 1.0, 0.3),
    ChannelSpec("active_moisturising", "active", 0.8, 0.9),
    ChannelSpec("active_acidity", "active", 0.04, 1.0),
    ChannelSpec("active_electrolyte", "active", 0.15, 1.0),
)

# The channel whose strength a chemist would compare when proposing a within-family swap.
PRIMARY_CHANNEL: dict[str, str] = {
    "humectant": "humectancy", "emollient": "oil_phase", "emulsifier": "emulsifying",
    "polymer": "polymer_thickening", "carbomer": "carbomer_thickening", "wax": "wax_structure",
    "neutraliser": "neutralising", "acid": "acidifying", "preservative": "preservative_acidity",
    "active": "active_moisturising",
}

# (family, number of recipes) for the deliberately rare ingredients, one code each.
RARE_TARGETS: tuple[tuple[str, int], ...] = (
    ("emollient", 1), ("active", 1), ("humectant", 2), ("wax", 2),
    ("emulsifier", 3), ("polymer", 5), ("preservative", 8), ("active", 12),
)

CROSS_FAMILY_SWAPS: tuple[tuple[str, str], ...] = (("carbomer", "polymer"), ("humectant", "active"))


@dataclass(frozen=True)
class Catalogue:
    """The drawn ingredient catalogue.

    Attributes
    ----------
    codes : every ingredient code, sorted.
    family : family of each code.
    name : human-readable name of each code.
    members : codes of each family, most popular first.
    popularity : relative frequency weight of each code inside its family (0 for rare codes).
    rare : number of recipes each deliberately rare code is placed in.
    strengths : per channel, each member's own strength factor.
    substitutions : expert-proposed (ingredient, substitute, kind) swaps.
    """

    codes: tuple[str, ...]
    family: dict[str, str]
    name: dict[str, str]
    members: dict[str, tuple[str, ...]]
    popularity: dict[str, float]
    rare: dict[str, int]
    strengths: dict[str, dict[str, float]]
    substitutions: tuple[tuple[str, str, str], ...]

    @property
    def water(self) -> str:
        """The single water code, the balance ingredient."""
        return self.members["water"][0]


def family_spec(family: str) -> FamilySpec:
    """The :class:`FamilySpec` of ``family``."""
    for spec in FAMILIES:
        if spec.family == family:
            return spec
    raise KeyError(f"unknown family {family!r}")


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    """Draw codes, names, popularities, strengths and substitutions from ``rng``."""
    n_total = sum(spec.n_codes for spec in FAMILIES)
    numbers = rng.choice(9000, size=n_total, replace=False) + 1000
    codes = [f"RM{n:04d}" for n in numbers]
    # Codes are random draws, so neither a code nor its position says anything about its family.
    family: dict[str, str] = {}
    name: dict[str, str] = {}
    members: dict[str, tuple[str, ...]] = {}
    start = 0
    for spec in FAMILIES:
        chunk = codes[start:start + spec.n_codes]
        start += spec.n_codes
        members[spec.family] = tuple(chunk)
        for k, code in enumerate(chunk):
            family[code] = spec.family
            name[code] = _ingredient_name(spec, k)

    popularity: dict[str, float] = {}
    for chunk in members.values():
        # Zipf-like frequencies inside a family: a few staples, a long tail.
        for rank, code in enumerate(chunk):
            popularity[code] = float((rank + 1) ** -1.1)

    rare: dict[str, int] = {}
    for fam, count in RARE_TARGETS:
        candidates = [c for c in reversed(members[fam]) if c not in rare]
        rare[candidates[0]] = count
        popularity[candidates[0]] = 0.0

    strengths: dict[str, dict[str, float]] = {}
    for ch in CHANNELS:
        draws = np.exp(rng.normal(0.0, ch.strength_sd, size=len(members[ch.family])))
        strengths[ch.channel] = {
            code: round(float(s), 4) for code, s in zip(members[ch.family], draws, strict=True)
        }

    subs = _substitutions(members, strengths, rng)
    return Catalogue(
        codes=tuple(sorted(codes)), family=family, name=name, members=members,
        popularity=popularity, rare=rare, strengths=strengths, substitutions=subs,
    )


def _ingredient_name(spec: FamilySpec, k: int) -> str:
    base = spec.base_names[k % len(spec.base_names)]
    if spec.n_codes <= len(spec.base_names):
        return base
    return f"{base} (variant {k // len(spec.base_names) + 1})"


def _substitutions(
    members: dict[str, tuple[str, ...]],
    strengths: dict[str, dict[str, float]],
    rng: np.random.Generator,
) -> tuple[tuple[str, str, str], ...]:
    """Two within-family pairs of closest primary strength per family, plus cross-family swaps."""
    rows: list[tuple[str, str, str]] = []
    for fam, channel in PRIMARY_CHANNEL.items():
        ordered = sorted(members[fam], key=lambda c: strengths[channel][c])
        gaps = [
            (abs(np.log(strengths[channel][b] / strengths[channel][a])), a, b)
            for a, b in zip(ordered[:-1], ordered[1:], strict=True)
        ]
        used: set[str] = set()
        for _, a, b in sorted(gaps):
            if a in used or b in used:
                continue
            rows.append((a, b, "within_family"))
            used.update((a, b))
            if len(used) == 4:
                break
    for fam_a, fam_b in CROSS_FAMILY_SWAPS:
        # The staple of each family, the swap a chemist would try first.
        rows.append((members[fam_a][0], members[fam_b][0], "cross_family"))
    order = rng.permutation(len(rows))
    return tuple(rows[i] for i in order)
