"""Synthetic cosmetic formulations with a known ground truth.

The generative story, in the order the generator follows it:

1. **Catalogue.** 129 raw materials in 11 families (water, humectants, emollient oils,
   emulsifiers, polymer thickeners, carbomers, waxes, neutralisers, acids, preservatives,
   actives) get opaque codes such as ``RM4821``, drawn at random so that neither a code nor its
   position reveals its family. Each family acts on the properties through one or more
   *channels* (carbomer thickening, emulsifying power, acidity, ...); on each channel every
   ingredient has its own lognormal strength around the family's effect, so ingredients of
   one family behave alike but not identically. Popularity inside a family is Zipf-like and a few
   codes are placed in only one or a handful of recipes.
2. **Recipes.** Each recipe is an emulsion, a gel or an aqueous solution with a random
   complexity; those set how many ingredients of each family it holds (5 to 40 in all, water
   included). Amounts are drawn log-uniformly inside each family's wt% range (oils 1-10,
   waxes 0.5-5, preservatives 0.1-1, ...); carbomer gels usually get a neutraliser dosed
   relative to the carbomer. Water is the balance (40-85 wt%), so every recipe sums to 100.
3. **Properties.** Viscosity on a 4-pin and a 6-pin spindle at 5, 10 and 20 rpm, pH,
   emulsion stability, hardness, spreadability, moisturisation and opacity are smooth
   nonlinear functions of the channel loads with interactions a chemist expects: a carbomer
   thickens only as far as it is neutralised (and acids or electrolytes undo that), stability
   needs enough emulsifier for the oil phase, waxes harden an oil phase that oils soften.
   Viscosity falls about in half each time the rpm doubles (shear thinning) and the 6-pin
   spindle reads a constant factor below the 4-pin. :func:`oracle_predict` computes these
   noise-free values from the parsed ``truth.json`` alone.
4. **Measurements.** Each recipe has a random subset of properties measured, some on most
   recipes and some on a few dozen, occasionally twice. A measurement is the oracle value plus
   Gaussian noise, multiplicative (Gaussian in log space) for viscosity and additive otherwise;
   the noise levels are recorded in ``truth.json``. Readings are not clipped, so a score near
   a bound can read slightly outside it (a stability of 103, an opacity of -2), as an
   instrument's raw reading would.

``truth.json`` also records, per property, a readable formula, its known interactions and a
linearised per-ingredient effect (``main_effects``) for scoring attributions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.io import atomic_folder
from models.synth_catalogue import CHANNELS, Catalogue, build_catalogue
from models.synth_properties import (
    FORMULAS,
    PARAMETERS,
    amount_matrix,
    channel_loads,
    channel_weights,
    oracle_predict,
    predict_loads,
)
from models.synth_recipes import DECIMALS, sample_recipes

__all__ = ["SynthData", "generate", "oracle_predict", "write_dataset"]


@dataclass(frozen=True)
class PropertySpec:
    """How one property is computed, labelled and sampled."""

    property: str
    kind: str
    group: str
    units: str
    noise: float
    measure_rate: float
    spindle: str | None = None
    rpm: float | None = None

    @property
    def log_scale(self) -> bool:
        """Whether the property is log-normal (transform ``log``, multiplicative noise)."""
        return self.kind == "viscosity"


def _viscosity(spindle: str, rpm: int, rate: float) -> PropertySpec:
    return PropertySpec(f"viscosity_{spindle}_{rpm}rpm", "viscosity", "viscosity", "mPa\u00b7s",
                        0.25, rate, spindle, float(rpm))


PROPERTIES: tuple[PropertySpec, ...] = (
    _viscosity("4pin", 5, 0.45),
    _viscosity("4pin", 10, 0.75),
    _viscosity("4pin", 20, 0.55),
    _viscosity("6pin", 5, 0.12),
    _viscosity("6pin", 10, 0.25),
    _viscosity("6pin", 20, 0.03),
    PropertySpec("ph", "ph", "ph", "pH", 0.15, 0.85),
    PropertySpec("stability", "stability", "stability", "score 0-100", 4.0, 0.6),
    PropertySpec("hardness", "hardness", "texture", "g", 5.0, 0.18),
    PropertySpec("spreadability", "spreadability", "texture", "mm", 2.5, 0.2),
    PropertySpec("moisturisation", "moisturisation", "skin", "corneometer units", 3.0, 0.025),
    PropertySpec("opacity", "opacity", "appearance", "%", 3.5, 0.3),
)
AMOUNT_UNIT = "wt%"  # amounts sum to 100 per recipe
REPEAT_RATE = 0.04  # chance that a measured property is measured a second time

# (kind, families, description) of the interactions built into the property functions.
INTERACTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("viscosity", ("carbomer", "neutraliser"),
     "a carbomer thickens in proportion to its degree of neutralisation, which saturates with"
     " the neutraliser-to-carbomer ratio"),
    ("viscosity", ("carbomer", "acid"), "acids consume the neutraliser and so undo carbomer"
     " thickening"),
    ("viscosity", ("carbomer", "active"), "electrolyte actives collapse a carbomer gel"),
    ("viscosity", ("wax", "emollient"), "waxes structure the oil phase: viscosity grows with"
     " wax x oil"),
    ("ph", ("neutraliser", "acid", "carbomer"), "pH follows the net base left after acids and"
     " carbomer, saturating like a buffer"),
    ("stability", ("emulsifier", "emollient", "wax"), "stability depends on the emulsifier to"
     " oil-phase ratio: unstable below the optimum, flat beyond it"),
    ("stability", ("carbomer", "polymer", "emulsifier"), "a thickened water phase rescues part"
     " of an under-emulsified emulsion"),
    ("hardness", ("wax", "emollient"), "oils soften the structure waxes build"),
    ("spreadability", ("carbomer", "polymer", "wax", "emollient"), "thick products spread"
     " less; light oils spread more"),
    ("moisturisation", ("humectant", "emollient", "wax"), "humectants work better under an"
     " occlusive oil or wax film"),
    ("opacity", ("emollient", "emulsifier"), "the oil phase scatters more light when more"
     " emulsifier makes finer droplets"),
)


@dataclass(frozen=True)
class SynthData:
    """A synthetic dataset: the five tables of the data contract and its ground truth.

    Attributes
    ----------
    formulations : formulation_id, ingredient, amount (wt%, each recipe sums to 100).
    measurements : formulation_id, property, value (original units; repeats are separate rows).
    ingredients : ingredient, group (the family), name.
    properties : property, group, transform (``log`` or empty), order (rpm or missing).
    substitutions : ingredient, substitute.
    truth : everything :func:`oracle_predict` needs plus families, groups, noise, formulas,
        interactions and main effects; JSON-serialisable.
    """

    formulations: pd.DataFrame
    measurements: pd.DataFrame
    ingredients: pd.DataFrame
    properties: pd.DataFrame
    substitutions: pd.DataFrame
    truth: dict


def generate(*, seed: int = 0, n_formulations: int = 2000) -> SynthData:
    """Build the whole synthetic dataset in memory (deterministic in ``seed``).

    The catalogue and all ground-truth parameters depend on ``seed`` only; ``n_formulations``
    changes the recipes, the measurements and the data-averaged ``main_effects``.
    """
    if n_formulations < 1:
        raise ValueError(f"n_formulations must be at least 1, got {n_formulations}")
    rng_catalogue, rng_recipes, rng_measure = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    catalogue = build_catalogue(rng_catalogue)
    recipes = sample_recipes(catalogue, n_formulations, rng_recipes)
    truth = _truth(catalogue, seed, n_formulations)

    codes = sorted(truth["families"])
    x = amount_matrix(codes, [list(r) for r in recipes], [list(r.values()) for r in recipes])
    truth["main_effects"] = _main_effects(truth, codes, x)
    width = max(4, len(str(n_formulations)))
    ids = [f"F{i + 1:0{width}d}" for i in range(n_formulations)]
    return SynthData(
        formulations=_formulation_table(ids, recipes),
        measurements=_measure(truth, codes, x, ids, rng_measure),
        ingredients=pd.DataFrame({
            "ingredient": list(catalogue.codes),
            "group": [catalogue.family[c] for c in catalogue.codes],
            "name": [catalogue.name[c] for c in catalogue.codes],
        }),
        properties=pd.DataFrame({
            "property": [p.property for p in PROPERTIES],
            "group": [p.group for p in PROPERTIES],
            "transform": ["log" if p.log_scale else "" for p in PROPERTIES],
            "order": pd.array([p.rpm for p in PROPERTIES], dtype="Int64"),
            "unit": [p.units for p in PROPERTIES],
        }),
        substitutions=pd.DataFrame(
            [(a, b) for a, b, _ in catalogue.substitutions], columns=["ingredient", "substitute"]
        ),
        truth=truth,
    )


def _truth(catalogue: Catalogue, seed: int, n_formulations: int) -> dict:
    properties = {}
    for p in PROPERTIES:
        info = {
            "kind": p.kind, "group": p.group, "units": p.units,
            "transform": "log" if p.log_scale else "", "noise": p.noise,
            "noise_scale": "log" if p.log_scale else "additive", "formula": FORMULAS[p.kind],
        }
        if p.spindle is not None:
            info.update(spindle=p.spindle, rpm=p.rpm)
        properties[p.property] = info
    return {
        "version": 1,
        "seed": int(seed),
        "n_formulations": n_formulations,
        "amount_unit": "wt%",
        "balance_ingredient": catalogue.water,
        "families": {c: catalogue.family[c] for c in catalogue.codes},
        "property_groups": {p.property: p.group for p in PROPERTIES},
        "noise": {p.property: p.noise for p in PROPERTIES},
        "noise_scale": {p.property: properties[p.property]["noise_scale"] for p in PROPERTIES},
        "channels": {
            ch.channel: {"family": ch.family, "family_effect": ch.family_effect,
                         "strengths": catalogue.strengths[ch.channel]}
            for ch in CHANNELS
        },
        "parameters": json.loads(json.dumps(PARAMETERS)),  # a deep copy the caller may edit
        "properties": properties,
        "interactions": [
            {"property": p.property, "families": list(families), "description": text}
            for p in PROPERTIES
            for kind, families, text in INTERACTIONS if kind == p.kind
        ],
        "main_effects_scale": {p.property: "log" if p.log_scale else "identity"
                               for p in PROPERTIES},
        "main_effects_definition": (
            "mean over the recipes holding the ingredient of (value of the recipe - value"
            " without the ingredient) / its amount, per wt%, on the natural-log scale where"
            " main_effects_scale is log; water is the balance and has no effect of its own"
        ),
        "rare_ingredients": sorted(catalogue.rare),
        "substitutions": [
            {"ingredient": a, "substitute": b, "kind": kind}
            for a, b, kind in catalogue.substitutions
        ],
    }


def _main_effects(truth: dict, codes: list[str], x: np.ndarray) -> dict[str, dict[str, float]]:
    """Per property and code: mean over recipes holding the code of the change from removing it.

    The change is divided by the removed amount (so it is per wt%) and taken on the natural-log
    scale for log-normal properties.
    """
    rows, cols = np.nonzero(x)
    channels, w = channel_weights(truth, codes)
    loads = x @ w  # (recipes, channels)
    # Removing one ingredient takes its amount times its weights off the recipe's loads.
    removed = loads[rows] - x[rows, cols][:, None] * w[cols]
    full_loads = {ch: loads[rows, k] for k, ch in enumerate(channels)}
    removed_loads = {ch: removed[:, k] for k, ch in enumerate(channels)}
    counts = np.bincount(cols, minlength=len(codes))
    effects: dict[str, dict[str, float]] = {}
    for p in PROPERTIES:
        full = predict_loads(truth, full_loads, p.property)
        without = predict_loads(truth, removed_loads, p.property)
        if p.log_scale:
            full, without = np.log(full), np.log(without)
        per_unit = (full - without) / x[rows, cols]
        mean = np.bincount(cols, weights=per_unit, minlength=len(codes)) / np.maximum(counts, 1)
        effects[p.property] = {c: _sig(m) for c, m in zip(codes, mean, strict=True)}
    return effects


def _sig(value: float, digits: int = 6) -> float:
    """Round to significant digits, so JSON stays short and stable."""
    return float(f"{value:.{digits}g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def _formulation_table(ids: list[str], recipes: list[dict[str, float]]) -> pd.DataFrame:
    rows = []
    for fid, recipe in zip(ids, recipes, strict=True):
        # Label order, as on a product: by amount, largest first.
        for code, amount in sorted(recipe.items(), key=lambda item: (-item[1], item[0])):
            rows.append((fid, code, amount, AMOUNT_UNIT))
    return pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount", "unit"])


def _measure(
    truth: dict, codes: list[str], x: np.ndarray, ids: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Pick which properties each recipe has measured, and add noise to the oracle values."""
    n, n_props = len(ids), len(PROPERTIES)
    rates = np.array([p.measure_rate for p in PROPERTIES])
    measured = rng.random((n, n_props)) < rates
    # Every recipe gets at least its most commonly measured property.
    measured[~measured.any(axis=1), int(np.argmax(rates))] = True
    repeats = measured.astype(int) + (measured & (rng.random((n, n_props)) < REPEAT_RATE))
    loads = channel_loads(truth, codes, x)
    clean = np.column_stack([predict_loads(truth, loads, p.property) for p in PROPERTIES])
    cell_recipe, cell_prop = np.nonzero(repeats)
    times = repeats[cell_recipe, cell_prop]
    recipe_idx, prop_idx = np.repeat(cell_recipe, times), np.repeat(cell_prop, times)
    z = rng.standard_normal(len(recipe_idx))
    sigma = np.array([p.noise for p in PROPERTIES])[prop_idx]
    log_scale = np.array([p.log_scale for p in PROPERTIES])[prop_idx]
    base = clean[recipe_idx, prop_idx]
    values = np.where(log_scale, base * np.exp(sigma * z), base + sigma * z)
    return pd.DataFrame({
        "formulation_id": [ids[i] for i in recipe_idx],
        "property": [PROPERTIES[j].property for j in prop_idx],
        "value": np.round(values, DECIMALS),
    })


def write_dataset(data: SynthData, out: Path) -> None:
    """Write the five CSV tables and ``truth.json`` as the folder ``out``.

    ``out`` must be missing, empty or a dataset written here before (see
    :func:`models.io.atomic_folder`); it is replaced whole once every file is written, so a
    failure leaves nothing half-written. Floats have a fixed format and JSON keys are sorted,
    so the same data gives byte-identical files.
    """
    tables = {
        "formulations.csv": data.formulations, "measurements.csv": data.measurements,
        "ingredients.csv": data.ingredients, "properties.csv": data.properties,
        "substitutions.csv": data.substitutions,
    }
    with atomic_folder(out, kind="dataset") as tmp:
        for name, table in tables.items():
            table.to_csv(tmp / name, index=False, lineterminator="\n",
                         float_format=f"%.{DECIMALS}f")
        # strict JSON, and a non-finite number in the ground truth is a bug: refuse to write it
        text = json.dumps(data.truth, indent=2, sort_keys=True, allow_nan=False)
        (tmp / "truth.json").write_text(text + "\n", encoding="utf-8")
