"""A small, uneven synthetic regime with a known oracle: what a lab's own data looks like.

About 400 blends of about 150 components, most components in fewer than 10 recipes, a few
pure-component and binary recipes, one property measured on every recipe and a second on about
a third of them. Unlike the cosmetic generator (:mod:`models.synth`) this is a mixing problem:

- each component ``i`` belongs to one of six families and has three true descriptors ``d_i``
  (family centre plus its own deviation), written to ``ingredients.csv``;
- its pure-component value is a smooth function of the descriptors,
  ``p_i = 40 d_i1 - 15 d_i2 + 10 d_i1 d_i3`` (the reference solvent ``p = 0`` by definition);
- a blend with mole-like fractions ``x`` (amounts / 100) has
  ``y = sum_i x_i p_i + sum_{i<j} x_i x_j K[f_i, f_j]`` (ideal mixing plus a family-pair excess)
  plus Gaussian noise; the second property is ``z = exp(0.02 y + 0.5 sum_i x_i d_i2)`` times
  log-normal noise.

``oracle.json`` holds everything needed to recompute the noise-free values
(:func:`oracle_values`). It is not ``truth.json``: the analysers' ground-truth scores are
written for the cosmetic generator's truth.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.io import atomic_folder, write_json

FAMILIES = ("solvent", "glycol", "ester", "amine", "salt", "surfactant")
N_DESCRIPTORS = 3
DESCRIPTORS = ("d1", "d2", "d3")
NOISE_Y = 1.5
NOISE_Z = 0.05  # log scale
REFERENCE = "C000"  # the reference solvent: its pure value is 0 by definition
ORACLE_FILE = "oracle.json"


@dataclass(frozen=True)
class SmallData:
    """The contract's tables and the oracle."""

    formulations: pd.DataFrame
    measurements: pd.DataFrame
    ingredients: pd.DataFrame
    properties: pd.DataFrame
    oracle: dict


def generate_small(*, seed: int = 0, n_formulations: int = 400, n_ingredients: int = 150,
                   n_pure: int = 8, n_binary: int = 40) -> SmallData:
    """Build the small regime in memory (deterministic in the arguments)."""
    rng = np.random.default_rng(seed)
    codes = [f"C{i:03d}" for i in range(n_ingredients)]
    family = [FAMILIES[0]] + [FAMILIES[int(k)] for k in rng.integers(0, len(FAMILIES),
                                                                      n_ingredients - 1)]
    centres = {f: rng.normal(0, 1, N_DESCRIPTORS) for f in FAMILIES}
    d = np.stack([centres[f] + rng.normal(0, 0.45, N_DESCRIPTORS) for f in family])
    pure = 40 * d[:, 0] - 15 * d[:, 1] + 10 * d[:, 0] * d[:, 2]
    d[0] = 0.0
    pure[0] = 0.0
    k = rng.normal(0, 30, (len(FAMILIES), len(FAMILIES)))
    k = (k + k.T) / 2
    # Zipf popularity in a random order: a few components are common, most are rare
    popularity = 1.0 / np.arange(1, n_ingredients + 1) ** 1.15
    popularity = popularity[rng.permutation(n_ingredients)]
    popularity /= popularity.sum()
    recipes: list[dict[str, float]] = []
    pure_codes = rng.choice(n_ingredients, n_pure, replace=False, p=popularity)
    pure_codes[0] = 0  # the reference solvent is measured pure
    for i in pure_codes:
        recipes.append({codes[i]: 100.0})
    for r in range(n_formulations - n_pure):
        size = 2 if r < n_binary else int(rng.integers(3, 9))
        chosen = rng.choice(n_ingredients, size, replace=False, p=popularity)
        amounts = rng.dirichlet(np.full(size, 1.2)) * 100
        amounts = np.maximum(np.round(amounts, 3), 0.001)
        recipes.append({codes[c]: float(a) for c, a in zip(chosen, amounts, strict=True)})
    ids = [f"S{i + 1:04d}" for i in range(len(recipes))]
    oracle = {
        "kind": "small-regime mixing oracle",
        "seed": int(seed),
        "families": dict(zip(codes, family, strict=True)),
        "descriptors": {c: [float(v) for v in row] for c, row in zip(codes, d, strict=True)},
        "descriptor_names": list(DESCRIPTORS),
        "pure_values": dict(zip(codes, map(float, pure), strict=True)),
        "family_names": list(FAMILIES),
        "excess": k.tolist(),
        "noise": {"y": NOISE_Y, "z": NOISE_Z},
        "noise_scale": {"y": "additive", "z": "log"},
        "formula": {
            "y": "sum_i x_i p_i + sum_{i<j} x_i x_j K[f_i, f_j], x = amount / 100",
            "z": "exp(0.02 y + 0.5 sum_i x_i d_i2)",
        },
        "reference": REFERENCE,
    }
    rows = [(fid, c, a) for fid, r in zip(ids, recipes, strict=True) for c, a in r.items()]
    formulations = pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"])
    clean_y = oracle_values(oracle, [list(r) for r in recipes],
                            [np.array(list(r.values())) for r in recipes], "y")
    clean_z = oracle_values(oracle, [list(r) for r in recipes],
                            [np.array(list(r.values())) for r in recipes], "z")
    y = clean_y + rng.normal(0, NOISE_Y, len(ids))
    y[0] = 0.0  # the reference solvent reads 0 by definition (first pure recipe)
    measured_z = rng.random(len(ids)) < 0.35
    z = clean_z * np.exp(rng.normal(0, NOISE_Z, len(ids)))
    measurements = pd.concat([
        pd.DataFrame({"formulation_id": ids, "property": "y", "value": np.round(y, 4)}),
        pd.DataFrame({"formulation_id": np.array(ids)[measured_z], "property": "z",
                      "value": np.round(z[measured_z], 5)}),
    ], ignore_index=True)
    used = sorted(set(formulations["ingredient"]))  # the oracle keeps the unused ones too
    keep = [codes.index(c) for c in used]
    ingredients = pd.DataFrame({"ingredient": used, "group": [family[i] for i in keep],
                                **{n: np.round(d[keep, j], 5) for j, n in enumerate(DESCRIPTORS)}})
    properties = pd.DataFrame({"property": ["y", "z"], "group": ["", ""],
                               "transform": ["", "log"]})
    return SmallData(formulations, measurements, ingredients, properties, oracle)


def oracle_values(oracle: dict, codes: list[list[str]], amounts: list[np.ndarray],
                  prop: str) -> np.ndarray:
    """Noise-free values of property ``prop`` (``y`` or ``z``) for recipes ``(codes, amounts)``."""
    family_index = {f: i for i, f in enumerate(oracle["family_names"])}
    k = np.asarray(oracle["excess"])
    out = np.empty(len(codes))
    for r, (names, a) in enumerate(zip(codes, amounts, strict=True)):
        x = np.asarray(a, dtype=np.float64) / 100.0
        p = np.array([oracle["pure_values"][c] for c in names])
        f = [family_index[oracle["families"][c]] for c in names]
        y = float(x @ p) + sum(x[i] * x[j] * k[f[i], f[j]]
                               for i, j in itertools.combinations(range(len(names)), 2))
        if prop == "y":
            out[r] = y
        elif prop == "z":
            d2 = np.array([oracle["descriptors"][c][1] for c in names])
            out[r] = np.exp(0.02 * y + 0.5 * float(x @ d2))
        else:
            raise KeyError(f"the small regime has properties y and z, not {prop!r}")
    return out


def write_small(data: SmallData, out: str | Path) -> Path:
    """Write the four tables and ``oracle.json`` into the folder ``out``, all at once."""
    with atomic_folder(out, kind="dataset") as tmp:
        for name in ("formulations", "measurements", "ingredients", "properties"):
            getattr(data, name).to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
        write_json(tmp / ORACLE_FILE, data.oracle)
    return Path(out)
