"""Tests of the ground-truth synthetic formulation generator."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.outputs import MARKER
from models.synth import SynthData, generate, oracle_predict, write_dataset

FILES = ("formulations.csv", "measurements.csv", "ingredients.csv", "properties.csv",
         "substitutions.csv", "truth.json")
REQUIRED_FAMILIES = {"water", "humectant", "emollient", "emulsifier", "polymer", "carbomer",
                     "wax", "neutraliser", "acid", "preservative", "active"}


@pytest.fixture(scope="module")
def data() -> SynthData:
    return generate(seed=0)


@pytest.fixture(scope="module")
def on_disk(data: SynthData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "dataset"
    write_dataset(data, out)
    return out


def _recipes(formulations: pd.DataFrame) -> dict[str, tuple[list[str], np.ndarray]]:
    return {
        fid: (list(g["ingredient"]), g["amount"].to_numpy())
        for fid, g in formulations.groupby("formulation_id", sort=False)
    }


def _codes(truth: dict, family: str) -> list[str]:
    return sorted(c for c, f in truth["families"].items() if f == family)


def _strongest(truth: dict, channel: str) -> str:
    strengths = truth["channels"][channel]["strengths"]
    return max(strengths, key=strengths.get)


# --- files -------------------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    write_dataset(generate(seed=7, n_formulations=120), tmp_path / "a")
    write_dataset(generate(seed=7, n_formulations=120), tmp_path / "b")
    write_dataset(generate(seed=8, n_formulations=120), tmp_path / "c")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("formulations.csv", "measurements.csv", "ingredients.csv", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


def test_files_are_plain_csv_with_the_contract_columns(on_disk: Path) -> None:
    assert sorted(p.name for p in on_disk.iterdir()) == sorted([*FILES, MARKER])
    assert sorted(p.name for p in on_disk.parent.iterdir()) == ["dataset"]  # no temporary left
    columns = {
        "formulations.csv": ["formulation_id", "ingredient", "amount"],
        "measurements.csv": ["formulation_id", "property", "value"],
        "ingredients.csv": ["ingredient", "group", "name"],
        "properties.csv": ["property", "group", "transform", "order"],
        "substitutions.csv": ["ingredient", "substitute"],
    }
    for name, expected in columns.items():
        assert list(pd.read_csv(on_disk / name).columns) == expected, name
    first = (on_disk / "formulations.csv").read_text().splitlines()[1]
    assert re.fullmatch(r"F\d{4},RM\d{4},\d+\.\d{4}", first)
    text = (on_disk / "truth.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    data = generate(seed=1, n_formulations=30)
    broken = SynthData(data.formulations, data.measurements, data.ingredients, data.properties,
                       data.substitutions, {**data.truth, "bad": math.nan})
    with pytest.raises(ValueError):
        write_dataset(broken, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# --- catalogue ---------------------------------------------------------------------------------

def test_catalogue_codes_are_opaque_and_families_complete(data: SynthData) -> None:
    ingredients = data.ingredients
    codes = list(ingredients["ingredient"])
    assert len(codes) >= 120 and len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"RM\d{4}", c) for c in codes)
    assert set(ingredients["group"]) == REQUIRED_FAMILIES
    assert ingredients["name"].str.len().min() > 0
    assert dict(zip(ingredients["ingredient"], ingredients["group"], strict=True)) == (
        data.truth["families"])
    water = _codes(data.truth, "water")
    assert water == [data.truth["balance_ingredient"]]
    # In code order families are shuffled: few neighbours share a family (blocks would give ~118).
    groups = list(ingredients.sort_values("ingredient")["group"])
    assert sum(a == b for a, b in zip(groups[:-1], groups[1:], strict=True)) < 40


def test_ingredients_within_a_family_have_their_own_strengths(data: SynthData) -> None:
    for channel, spec in data.truth["channels"].items():
        members = _codes(data.truth, spec["family"])
        assert sorted(spec["strengths"]) == members, channel
        if channel != "carbomer_acidity":
            assert np.std(np.log(list(spec["strengths"].values()))) > 0.1, channel
    effects = data.truth["main_effects"]["viscosity_4pin_10rpm"]
    carbomers = [effects[c] for c in _codes(data.truth, "carbomer")]
    assert min(carbomers) > 0 and max(carbomers) > 1.3 * min(carbomers)


def test_substitutions_are_mostly_within_family(data: SynthData) -> None:
    subs = data.substitutions
    families = data.truth["families"]
    assert len(subs) >= 12
    assert set(subs["ingredient"]) | set(subs["substitute"]) <= set(families)
    assert (subs["ingredient"] != subs["substitute"]).all()
    same = [families[a] == families[b] for a, b in subs.itertuples(index=False)]
    assert np.mean(same) >= 0.75
    assert len(data.truth["substitutions"]) == len(subs)


# --- recipes -----------------------------------------------------------------------------------

def test_recipes_have_5_to_40_ingredients_summing_to_100(data: SynthData) -> None:
    f = data.formulations
    assert not f.duplicated(["formulation_id", "ingredient"]).any()
    assert (f["amount"] > 0).all()
    sizes = f.groupby("formulation_id").size()
    assert len(sizes) == 2000
    assert sizes.min() >= 5 and sizes.max() == 40
    assert 8 <= sizes.median() <= 25 and (sizes >= 35).mean() < 0.03
    totals = f.groupby("formulation_id")["amount"].sum()
    assert np.allclose(totals, 100.0, rtol=0, atol=1e-9)


def test_amounts_stay_in_family_ranges(data: SynthData) -> None:
    f = data.formulations.merge(data.ingredients, on="ingredient")
    water = f[f["group"] == "water"]
    assert len(water) == 2000  # exactly one water per recipe
    assert water["amount"].between(40, 85).all()
    highest = {"humectant": 15, "emollient": 10, "emulsifier": 5, "polymer": 1.5,
               "carbomer": 1.0, "wax": 5, "neutraliser": 2, "acid": 1, "preservative": 1,
               "active": 5}
    by_family = f.groupby("group")["amount"]
    for family, hi in highest.items():
        assert by_family.max()[family] <= hi + 1e-9, family
    assert by_family.median()["emollient"] > by_family.median()["preservative"]


def test_ingredient_frequencies_are_uneven(data: SynthData) -> None:
    counts = data.formulations["ingredient"].value_counts()
    assert set(counts.index) == set(data.ingredients["ingredient"])  # every code is used
    assert (counts < 3).sum() >= 3
    assert counts.max() > 100 * counts.min()


# --- measurements ------------------------------------------------------------------------------

def test_sample_counts_are_very_uneven(data: SynthData) -> None:
    m = data.measurements
    counts = m["property"].value_counts()
    assert 8000 <= len(m) <= 15000
    assert set(counts.index) == set(data.properties["property"])
    assert (counts < 80).sum() >= 2
    assert counts.max() > 1000
    assert m.duplicated(["formulation_id", "property"]).sum() > 50  # repeated measurements
    assert set(m["formulation_id"]) == set(data.formulations["formulation_id"])


def test_properties_table(data: SynthData) -> None:
    props = data.properties.set_index("property")
    assert len(props) >= 10
    for spindle in ("4pin", "6pin"):
        visc = props[props.index.str.startswith(f"viscosity_{spindle}_")]
        assert len(visc) >= 3
        assert (visc["group"] == "viscosity").all() and (visc["transform"] == "log").all()
        assert [f"viscosity_{spindle}_{o}rpm" for o in visc["order"]] == list(visc.index)
    others = props[props["group"] != "viscosity"]
    assert {"ph", "stability"} <= set(others.index)
    assert (others["transform"] == "").all() and others["order"].isna().all()
    assert data.truth["property_groups"] == props["group"].to_dict()


def test_measurements_are_oracle_plus_stated_noise(on_disk: Path) -> None:
    truth = json.loads((on_disk / "truth.json").read_text())
    recipes = _recipes(pd.read_csv(on_disk / "formulations.csv"))
    m = pd.read_csv(on_disk / "measurements.csv")
    for prop, rows in m.groupby("property"):
        ids = rows["formulation_id"]
        clean = oracle_predict(truth, [recipes[i][0] for i in ids], [recipes[i][1] for i in ids],
                               prop)
        values = rows["value"].to_numpy()
        if truth["noise_scale"][prop] == "log":
            values, clean = np.log(values), np.log(clean)
        residual = values - clean
        sigma = truth["noise"][prop]
        tolerance = 4 / math.sqrt(2 * len(rows))  # about 4 standard errors of an estimated sd
        assert abs(residual.std() / sigma - 1) < tolerance, prop
        assert abs(residual.mean()) < 4 * sigma / math.sqrt(len(rows)), prop
        # The oracle's R^2 on the noisy values, the ceiling reported to users.
        r2 = 1 - np.sum(residual**2) / np.sum((values - values.mean()) ** 2)
        assert 0.9 <= r2 < 0.995, prop


# --- ground truth ------------------------------------------------------------------------------

def test_truth_is_complete(data: SynthData) -> None:
    truth = data.truth
    props = list(data.properties["property"])
    for key in ("noise", "noise_scale", "main_effects", "main_effects_scale"):
        assert sorted(truth[key]) == sorted(props), key
    for prop in props:
        assert sorted(truth["main_effects"][prop]) == sorted(truth["families"])
        assert truth["properties"][prop]["formula"]
        assert any(i["property"] == prop for i in truth["interactions"]), prop
    assert {"property": "viscosity_4pin_10rpm", "families": ["carbomer", "neutraliser"]} in [
        {k: i[k] for k in ("property", "families")} for i in truth["interactions"]]
    assert all(truth["main_effects"][p][truth["balance_ingredient"]] == 0 for p in props)


def test_main_effects_have_the_expected_signs(data: SynthData) -> None:
    effects, truth = data.truth["main_effects"], data.truth

    def median(prop: str, family: str) -> float:
        return float(np.median([effects[prop][c] for c in _codes(truth, family)]))

    assert median("ph", "acid") < 0 < median("ph", "neutraliser")
    assert median("viscosity_4pin_10rpm", "carbomer") > 0
    assert median("viscosity_4pin_10rpm", "polymer") > 0
    assert median("stability", "emulsifier") > 0 > median("stability", "emollient")
    assert median("hardness", "wax") > 0
    assert median("moisturisation", "humectant") > 0
    assert median("opacity", "emollient") > 0
    assert median("opacity", "humectant") == 0


def test_oracle_from_parsed_json_matches_in_memory(data: SynthData, on_disk: Path) -> None:
    parsed = json.loads((on_disk / "truth.json").read_text())
    recipes = list(_recipes(data.formulations).values())[:50]
    for prop in data.properties["property"]:
        a = oracle_predict(data.truth, [r[0] for r in recipes], [r[1] for r in recipes], prop)
        b = oracle_predict(parsed, [r[0] for r in recipes], [r[1] for r in recipes], prop)
        np.testing.assert_array_equal(a, b)


def test_viscosity_halves_when_rpm_doubles(data: SynthData) -> None:
    recipes = list(_recipes(data.formulations).values())[:300]
    ingredients, amounts = [r[0] for r in recipes], [r[1] for r in recipes]
    for spindle in ("4pin", "6pin"):
        v5, v10, v20 = (oracle_predict(data.truth, ingredients, amounts,
                                       f"viscosity_{spindle}_{rpm}rpm") for rpm in (5, 10, 20))
        for ratio in (v10 / v5, v20 / v10):
            assert np.all((ratio > 0.45) & (ratio < 0.56)), spindle
            assert np.ptp(ratio) < 1e-9  # one slope per spindle
    six = oracle_predict(data.truth, ingredients, amounts, "viscosity_6pin_10rpm")
    four = oracle_predict(data.truth, ingredients, amounts, "viscosity_4pin_10rpm")
    assert np.ptp(six / four) < 1e-9 and abs(np.mean(six / four) - 1) > 0.2


def test_carbomer_thickens_only_when_neutralised(data: SynthData) -> None:
    truth = data.truth
    water = truth["balance_ingredient"]
    carbomer = _strongest(truth, "carbomer_thickening")
    base = _strongest(truth, "neutralising")
    glycerin = _codes(truth, "humectant")[0]
    recipes = [
        [water, glycerin],
        [water, glycerin, carbomer],
        [water, glycerin, carbomer, base],
        [water, glycerin, carbomer, base],
        [water, glycerin, carbomer, base],
    ]
    amounts = [[90, 5], [90, 5, 0.5], [90, 5, 0.5, 0.05], [90, 5, 0.5, 1.0], [90, 5, 0.5, 2.0]]
    visc = oracle_predict(truth, recipes, amounts, "viscosity_4pin_10rpm")
    plain, unneutralised, little, enough, double = visc
    assert unneutralised < 1.1 * plain  # barely thickens
    assert enough > 20 * unneutralised
    assert plain < little < enough
    assert double < 1.1 * enough  # neutralisation saturates
    ph = oracle_predict(truth, recipes, amounts, "ph")
    assert ph[1] < ph[0] < ph[3]


def test_stability_follows_the_emulsifier_to_oil_ratio(data: SynthData) -> None:
    truth = data.truth
    water = truth["balance_ingredient"]
    oil, emulsifier = _codes(truth, "emollient")[0], _codes(truth, "emulsifier")[0]
    weight = {ch: truth["channels"][ch]["strengths"][code] * truth["channels"][ch]["family_effect"]
              for ch, code in (("oil_phase", oil), ("emulsifying", emulsifier))}
    # Emulsifier wt% at the optimum ratio for 15 wt% of this oil.
    optimum = (truth["parameters"]["stability"]["optimum_ratio"] * 15 * weight["oil_phase"]
               / weight["emulsifying"])
    multiples = [0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0]
    stability = oracle_predict(truth, [[water, oil, emulsifier]] * len(multiples),
                               [[70, 15, m * optimum] for m in multiples], "stability")
    assert stability[0] < 5  # an emulsion without emulsifier separates
    assert np.all(np.diff(stability) >= 0)
    assert stability[3] - stability[1] > 30  # steep below the optimum ratio ...
    assert stability[-2] > 95 and stability[-1] - stability[-2] < 0.5  # ... and flat beyond it
    # Twice the oil needs twice the emulsifier.
    double = oracle_predict(truth, [[water, oil, emulsifier]] * 2,
                            [[70, 15, optimum], [70, 30, 2 * optimum]], "stability")
    assert double[0] == pytest.approx(double[1], abs=3)
    no_oil = oracle_predict(truth, [[water]], [[100]], "stability")
    assert no_oil[0] > 95


@pytest.mark.parametrize(("prop", "channel"), [
    ("hardness", "wax_structure"), ("moisturisation", "humectancy"),
    ("opacity", "oil_phase"), ("viscosity_4pin_10rpm", "polymer_thickening"),
])
def test_driving_family_raises_its_property(data: SynthData, prop: str, channel: str) -> None:
    truth = data.truth
    water, code = truth["balance_ingredient"], _strongest(truth, channel)
    emulsifier = _codes(truth, "emulsifier")[0]
    values = oracle_predict(truth, [[water, emulsifier, code]] * 3,
                            [[80, 3, 0], [80, 3, 1], [80, 3, 4]], prop)
    assert values[0] < values[1] < values[2]


def test_ph_saturates_inside_3_5_to_9(data: SynthData) -> None:
    truth = data.truth
    water = truth["balance_ingredient"]
    acid, base = _strongest(truth, "acidifying"), _strongest(truth, "neutralising")
    ph = oracle_predict(truth, [[water, acid], [water, base], [water]], [[90, 10], [90, 10], [100]],
                        "ph")
    assert 3.5 <= ph[0] < 3.6 and 8.9 < ph[1] <= 9.0 and 5 < ph[2] < 7.5
    recipes = list(_recipes(data.formulations).values())
    clean = oracle_predict(truth, [r[0] for r in recipes], [r[1] for r in recipes], "ph")
    assert clean.min() >= 3.5 and clean.max() <= 9.0 and clean.std() > 0.5


def test_oracle_accepts_arbitrary_recipes(data: SynthData) -> None:
    truth = data.truth
    ingredients, amounts = next(iter(_recipes(data.formulations).values()))
    codes, values = list(ingredients), list(amounts)
    for prop in data.properties["property"]:
        full = oracle_predict(truth, [codes], [values], prop)
        assert full.shape == (1,)
        empty = oracle_predict(truth, [[]], [[]], prop)
        assert np.isfinite(empty).all()
        subset = oracle_predict(truth, [codes[:2]], [values[:2]], prop)
        assert np.isfinite(subset).all()
        unknown = oracle_predict(truth, [[*codes, "NOT_A_CODE"]], [[*values, 5.0]], prop)
        assert unknown == pytest.approx(full)
        shuffled = oracle_predict(truth, [codes[::-1]], [np.array(values[::-1])], prop)
        assert shuffled == pytest.approx(full)
        split = oracle_predict(truth, [[*codes, codes[1]]],
                               [[*values[:1], values[1] / 2, *values[2:], values[1] / 2]], prop)
        assert split == pytest.approx(full)  # a repeated code has its amounts summed
    assert oracle_predict(truth, [], [], "ph").shape == (0,)
    with pytest.raises(KeyError):
        oracle_predict(truth, [codes], [values], "no_such_property")
    with pytest.raises(ValueError):
        oracle_predict(truth, [codes], [values[:-1]], "ph")


def test_truth_and_catalogue_do_not_depend_on_dataset_size() -> None:
    small, large = generate(seed=4, n_formulations=20), generate(seed=4, n_formulations=60)
    assert small.truth["channels"] == large.truth["channels"]
    assert small.truth["families"] == large.truth["families"]
    assert small.ingredients.equals(large.ingredients)
    with pytest.raises(ValueError):
        generate(seed=4, n_formulations=0)
