import numpy as np
import pandas as pd

from models.optional_tables import (
    amount_unit,
    ingredients_table,
    properties_table,
    substitutions_table,
)
from models.validation import Table


def csv_table(file: str, rows: dict[str, list[str]]) -> Table:
    frame = pd.DataFrame(rows, dtype=str)
    return Table(file, frame, np.arange(2, len(frame) + 2, dtype=np.int64), 1)


def test_ingredients_listed_twice_with_another_group_are_a_problem():
    table = csv_table("ingredients.csv", {"ingredient": ["W", "G", "W"],
                                          "group": ["solvent", "humectant", "oil"]})
    problems, warnings = [], []
    frame = ingredients_table(table, {"W"}, problems, warnings)
    assert frame["ingredient"].tolist() == ["W", "G"] and frame["name"].tolist() == ["", ""]
    assert [(p.file, p.line) for p in problems] == [("ingredients.csv", 4)]
    assert "group 'oil'" in problems[0].message and "on line 2" in problems[0].message
    assert len(warnings) == 1 and "'G' is never used" in warnings[0]


def test_properties_fill_missing_columns_and_reject_unknown_transforms():
    table = csv_table("properties.csv", {"property": ["visc", "ph", "odour"],
                                         "transform": ["LOG", "", "sqrt"],
                                         "order": ["10", "", "1"]})
    problems = []
    frame = properties_table(table, None, problems, [])
    assert frame["transform"].tolist()[:2] == ["log", "identity"]
    assert frame["order"].iloc[0] == 10.0 and np.isnan(frame["order"].iloc[1])
    assert frame["group"].tolist() == ["", "", ""]
    assert [(p.line, "sqrt" in p.message) for p in problems] == [(4, True)]


def test_substitutions_drop_repeats_and_warn_on_unknown_ingredients():
    table = csv_table("substitutions.csv", {"ingredient": ["W", "W", "G"],
                                            "substitute": ["G", "G", "X"]})
    warnings = []
    frame = substitutions_table(table, {"W", "G"}, [], warnings)
    assert frame.values.tolist() == [["W", "G"], ["G", "X"]]
    assert len(warnings) == 1 and "line 4" in warnings[0] and "'X' is not used" in warnings[0]


def test_absent_tables_give_none():
    assert ingredients_table(None, None, [], []) is None
    assert properties_table(None, None, [], []) is None
    assert substitutions_table(None, None, [], []) is None


def test_units_are_optional_and_amounts_take_one():
    table = csv_table("properties.csv", {"property": ["visc", "ph"], "unit": ["mPa\u00b7s", ""]})
    frame = properties_table(table, None, [], [])
    assert frame["unit"].tolist() == ["mPa\u00b7s", ""]
    no_unit = csv_table("properties.csv", {"property": ["visc"]})
    assert properties_table(no_unit, None, [], [])["unit"].tolist() == [""]
    formulations = {"formulation_id": ["F1", "F1", "F2"], "ingredient": ["W", "G", "W"],
                    "amount": ["90", "10", "100"]}
    assert amount_unit(csv_table("formulations.csv", formulations), []) == ""
    problems = []
    given = csv_table("formulations.csv", {**formulations, "unit": ["wt%", "", "wt%"]})
    assert amount_unit(given, problems) == "wt%" and problems == []
    mixed = csv_table("formulations.csv", {**formulations, "unit": ["wt%", "wt%", "g"]})
    assert amount_unit(mixed, problems) == "wt%"
    assert [(p.line, "differs from 'wt%' on line 2" in p.message) for p in problems] == [
        (4, True)]


def test_synthetic_data_carry_units_and_names(tiny_dataset):
    assert tiny_dataset.amount_unit == "wt%"
    units = tiny_dataset.property_units()
    assert units["viscosity_4pin_10rpm"] == "mPa\u00b7s" and units["ph"] == "pH"
    names = tiny_dataset.ingredients.set_index("ingredient")["name"]
    assert (names != "").all() and (names.index != names).all()
