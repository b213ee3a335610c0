"""Loading, validation and summary of dataset folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.data import DataError, Dataset, Problem, load_dataset

FORMULATIONS = """\
formulation_id,ingredient,amount,comment
001,W,60,first
NA,W,50,
001,G,30,
NA,O,50,
001,W,10,repeat of W
F3,G,100,
"""
MEASUREMENTS = """\
formulation_id,property,value
001,visc,10.5
NA,visc,-2
001,ph,6.5
001,visc,11.5
"""
BASE = {"formulations.csv": FORMULATIONS, "measurements.csv": MEASUREMENTS}


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def problems_of(root: Path, files: dict[str, str], **kwargs) -> list[Problem]:
    write(root, files)
    with pytest.raises(DataError) as info:
        load_dataset(root, **kwargs)
    return info.value.problems


# ----------------------------------------------------------------------------- valid folders


def test_loads_tables_with_string_ids_and_float_numbers(tmp_path):
    ds = load_dataset(write(tmp_path / "d", BASE))
    f, m = ds.formulations, ds.measurements
    assert list(f.columns) == ["formulation_id", "ingredient", "amount"]
    assert list(m.columns) == ["formulation_id", "property", "value"]
    assert f["amount"].dtype == np.float64 and m["value"].dtype == np.float64
    assert all(isinstance(x, str) for x in [*f["formulation_id"], *m["formulation_id"]])
    # "001" keeps its zeros and "NA" stays an id rather than a missing value.
    assert ds.formulation_ids == ["001", "NA", "F3"]
    assert m["value"].tolist() == [10.5, -2.0, 6.5, 11.5]  # every row, file order
    assert ds.property_names == ["ph", "visc"]
    assert ds.ingredient_names == ["G", "O", "W"]


def test_duplicates_are_summed_and_recipe_order_kept(tmp_path):
    ds = load_dataset(write(tmp_path / "d", BASE))
    assert ds.duplicate_pairs == 1
    # Interleaved rows are gathered per recipe; ingredients keep first-appearance order.
    assert ds.formulations.values.tolist() == [
        ["001", "W", 70.0], ["001", "G", 30.0], ["NA", "W", 50.0], ["NA", "O", 50.0],
        ["F3", "G", 100.0],
    ]
    codes, amounts = ds.recipe("001")
    assert codes == ["W", "G"] and amounts.tolist() == [70.0, 30.0]
    recipes = ds.recipes()
    assert list(recipes) == ["001", "NA", "F3"]
    assert recipes["NA"][0] == ["W", "O"] and recipes["F3"][1].dtype == np.float64
    assert any("summed" in w and "lines 2, 6" in w for w in ds.warnings)
    with pytest.raises(KeyError, match="F9"):
        ds.recipe("F9")


def test_formulation_without_measurements_is_kept_with_a_warning(tmp_path):
    ds = load_dataset(write(tmp_path / "d", BASE))
    assert "F3" in ds.formulation_ids
    assert ("formulations.csv, line 7: formulation 'F3' has no measurements; "
            "it is kept for prediction only") in ds.warnings


def test_blank_lines_and_spaces_do_not_shift_lines(tmp_path):
    text = "formulation_id , Ingredient,AMOUNT\n F1 , A ,1\n\n,,\nF1,B,x\n"
    problems = problems_of(tmp_path / "d", {**BASE, "formulations.csv": text})
    assert [str(p) for p in problems if p.file == "formulations.csv"] == [
        "formulations.csv, line 5: amount 'x' is not a number"
    ]


def test_optional_tables(tmp_path):
    files = {
        **BASE,
        "measurements.csv": MEASUREMENTS.replace("NA,visc,-2", "NA,visc,2"),
        "ingredients.csv": "ingredient,group,name,extra\nW,water,Aqua,1\nG,humectant,,2\n"
                           "O,oil,Oil,3\nW,water,Aqua,4\nZ,wax,Wax,5\n",
        "properties.csv": "property,group,transform,order\nvisc,viscosity,LOG,12\n"
                          "ph,acidity,,\nhardness,texture,identity,\n",
        "substitutions.csv": "ingredient,substitute\nW,G\nW,G\nO,Q\n",
        "truth.json": json.dumps({"families": {"W": "water"}}),
    }
    ds = load_dataset(write(tmp_path / "d", files))
    assert ds.ingredient_groups() == {"W": "water", "G": "humectant", "O": "oil", "Z": "wax"}
    assert ds.ingredients["name"].tolist() == ["Aqua", "", "Oil", "Wax"]
    assert ds.property_groups() == {"visc": "viscosity", "ph": "acidity", "hardness": "texture"}
    # A listed property without measurements still counts as a property.
    assert ds.property_names == ["hardness", "ph", "visc"]
    assert ds.property_transforms() == {"hardness": "identity", "ph": "identity", "visc": "log"}
    assert ds.property_orders() == {"visc": 12.0}
    assert ds.substitutions.values.tolist() == [["W", "G"], ["O", "Q"]]
    assert ds.truth == {"families": {"W": "water"}}
    assert "ingredients.csv, line 6: ingredient 'Z' is never used in a formulation" in ds.warnings
    assert "substitutions.csv, line 4: 'Q' is not used in any formulation" in ds.warnings
    assert "properties.csv, line 4: property 'hardness' has no measurements" in ds.warnings


def test_without_optional_tables(tmp_path):
    ds = load_dataset(write(tmp_path / "d", BASE))
    assert ds.ingredients is None and ds.properties is None and ds.truth is None
    assert ds.ingredient_groups() == {} and ds.property_groups() == {}
    assert ds.property_transforms() == {"ph": "identity", "visc": "identity"}
    assert ds.property_orders() == {}


def test_parquet_loads_like_csv(tmp_path):
    csv = load_dataset(write(tmp_path / "csv", BASE))
    pq = tmp_path / "pq"
    pq.mkdir()
    f = pd.read_csv(tmp_path / "csv" / "formulations.csv", dtype={"formulation_id": str},
                    keep_default_na=False)
    f["amount"] = f["amount"].astype(float)
    f.to_parquet(pq / "formulations.parquet")
    m = pd.read_csv(tmp_path / "csv" / "measurements.csv", dtype={"formulation_id": str},
                    keep_default_na=False)
    m.to_parquet(pq / "measurements.parquet")
    ds = load_dataset(pq)
    pd.testing.assert_frame_equal(ds.formulations, csv.formulations)
    pd.testing.assert_frame_equal(ds.measurements, csv.measurements)
    assert ds.duplicate_pairs == csv.duplicate_pairs


def test_parquet_problems_name_row_plus_two(tmp_path):
    root = write(tmp_path / "d", {"measurements.csv": MEASUREMENTS})
    pd.DataFrame({"formulation_id": ["001", "001", "NA"], "ingredient": ["W", None, "O"],
                  "amount": [1.0, 2.0, np.inf]}).to_parquet(root / "formulations.parquet")
    with pytest.raises(DataError) as info:
        load_dataset(root)
    assert [str(p) for p in info.value.problems] == [
        "formulations.parquet, line 3: ingredient is empty",
        "formulations.parquet, line 4: amount 'inf' is infinite",
    ]


def test_prediction_folders_need_no_measurements(tmp_path):
    ds = load_dataset(write(tmp_path / "d", {"formulations.csv": FORMULATIONS}),
                      require_measurements=False)
    assert len(ds.measurements) == 0 and ds.measurements["value"].dtype == np.float64
    assert ds.formulation_ids == ["001", "NA", "F3"]
    assert not any("no measurements" in w for w in ds.warnings)


def test_subset_restricts_formulations_and_measurements(tmp_path):
    ds = load_dataset(write(tmp_path / "d", BASE))
    sub = ds.subset(["F3", "001"])
    assert sub.formulation_ids == ["001", "F3"]  # the dataset's order, not the argument's
    assert set(sub.measurements["formulation_id"]) == {"001"}
    assert len(sub.measurements) == 3 and list(sub.recipes()) == ["001", "F3"]
    assert ds.formulation_ids == ["001", "NA", "F3"]  # the original is untouched
    with pytest.raises(KeyError, match="nope"):
        ds.subset(["nope"])


def test_dataset_can_be_built_directly():
    f = pd.DataFrame({"formulation_id": ["b", "a", "b"], "ingredient": ["x", "y", "z"],
                      "amount": [1.0, 2.0, 3.0]})
    m = pd.DataFrame({"formulation_id": ["a"], "property": ["p"], "value": [1.0]})
    ds = Dataset(root=Path("."), formulations=f, measurements=m)
    assert ds.recipes()["b"][0] == ["x", "z"] and ds.formulation_ids == ["b", "a"]


# ----------------------------------------------------------------------------- problems


def _form(*rows: str) -> dict[str, str]:
    return {"formulations.csv": "formulation_id,ingredient,amount\n" + "".join(rows)}


def _meas(*rows: str) -> dict[str, str]:
    return {"measurements.csv": "formulation_id,property,value\n" + "".join(rows)}


ERROR_CASES = {
    "formulations missing": (
        {"formulations.csv": None}, {},
        "formulations.csv", None, "required file is missing"),
    "measurements missing": (
        {"measurements.csv": None}, {},
        "measurements.csv", None, "required file is missing"),
    "missing columns": (
        {"formulations.csv": "formulation_id,ingr,amt\n001,W,1\n"}, {},
        "formulations.csv", 1,
        "missing required columns 'ingredient', 'amount'; found: 'formulation_id', 'ingr', 'amt'"),
    "empty id": (_form("001,W,1\n", ",W,2\n"), {}, "formulations.csv", 3,
                 "formulation_id is empty"),
    "empty ingredient": (_form("001,,2\n"), {}, "formulations.csv", 2, "ingredient is empty"),
    "empty property": (_meas("001, ,1\n"), {}, "measurements.csv", 2, "property is empty"),
    "text amount": (_form("001,W,abc\n"), {}, "formulations.csv", 2,
                    "amount 'abc' is not a number"),
    "comma decimal": (_form('001,W,"1,5"\n'), {}, "formulations.csv", 2,
                      "amount '1,5' is not a number"),
    "nan amount": (_form("001,W,NaN\n"), {}, "formulations.csv", 2, "amount 'NaN' is NaN"),
    "empty amount": (_form("001,W,\n"), {}, "formulations.csv", 2, "amount is empty"),
    "empty value": (_meas("001,visc\n"), {}, "measurements.csv", 2, "value is empty"),
    "text value": (_meas("001,visc,high\n"), {}, "measurements.csv", 2,
                   "value 'high' is not a number"),
    "infinite value": (_meas("001,visc,10\n", "001,visc,-inf\n"), {}, "measurements.csv", 3,
                       "value '-inf' is infinite"),
    "negative amount": (_form("001,W,-1\n"), {}, "formulations.csv", 2, "amount '-1' is negative"),
    "unknown formulation": (_meas("001,visc,1\n", "F9,visc,2\n"), {}, "measurements.csv", 3,
                            "formulation 'F9' is not in formulations.csv"),
    "too many ingredients": (
        _form("001,W,1\n", "002,W,1\n", "001,G,1\n", "001,O,1\n"), {"max_ingredients": 2},
        "formulations.csv", 2, "formulation '001' has 3 ingredients, more than max_ingredients=2"),
    "no formulation rows": (_form(), {}, "formulations.csv", None, "has no rows"),
    "no measurement rows": (_meas(), {}, "measurements.csv", None, "has no rows"),
    "ingredients without group": (
        {"ingredients.csv": "ingredient,family\nW,water\n"}, {},
        "ingredients.csv", 1, "missing required column 'group'; found: 'ingredient', 'family'"),
    "ingredient in two groups": (
        {"ingredients.csv": "ingredient,group\nW,water\nG,humectant\nW,solvent\n"}, {},
        "ingredients.csv", 4,
        "ingredient 'W' is listed again with group 'solvent', but with group 'water' on line 2"),
    "properties without property column": (
        {"properties.csv": "name,group\nvisc,viscosity\n"}, {},
        "properties.csv", 1, "missing required column 'property'"),
    "bad transform": (
        {"properties.csv": "property,transform\nvisc,log\nph,sqrt\n"}, {},
        "properties.csv", 3, "transform 'sqrt' is not one of 'log', 'identity' (or empty)"),
    "bad order": (
        {"properties.csv": "property,group,order\nvisc,v,12\nph,p,fast\n"}, {},
        "properties.csv", 3, "order 'fast' is not a number"),
    "substitutions without substitute": (
        {"substitutions.csv": "ingredient,swap\nW,G\n"}, {},
        "substitutions.csv", 1, "missing required column 'substitute'"),
    "empty substitute": (
        {"substitutions.csv": "ingredient,substitute\nW,G\nW,\n"}, {},
        "substitutions.csv", 3, "substitute is empty"),
    "invalid truth": (
        {"truth.json": '{\n  "families": {\n    "W": water\n  }\n}\n'}, {},
        "truth.json", 3, "is not valid JSON"),
    "truth not an object": ({"truth.json": "[1, 2]"}, {}, "truth.json", None,
                            "must hold a JSON object, not list"),
    "ragged csv": (_form("001,W,1\n", "001,G,1,extra,more\n"), {}, "formulations.csv", 3,
                   "cannot be read as CSV"),
    "empty file": ({"measurements.csv": ""}, {}, "measurements.csv", None,
                   "file is empty (no header row)"),
}


@pytest.mark.parametrize("files, kwargs, file, line, message", list(ERROR_CASES.values()),
                         ids=list(ERROR_CASES))
def test_problem_names_file_line_and_reason(tmp_path, files, kwargs, file, line, message):
    merged = {**BASE, **files}
    root = write(tmp_path / "d", {k: v for k, v in merged.items() if v is not None})
    with pytest.raises(DataError) as info:
        load_dataset(root, **kwargs)
    matches = [p for p in info.value.problems
               if p.file == file and p.line == line and message in p.message]
    assert matches, f"no ({file}, {line}, {message!r}) in {info.value.problems}"
    where = f"{file}, line {line}: " if line is not None else f"{file}: "
    assert str(matches[0]).startswith(where) and str(matches[0]) in str(info.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value).splitlines()[0]
    assert info.value.problems[0].message == "dataset folder does not exist"


def test_csv_and_parquet_of_one_table_is_an_error(tmp_path):
    root = write(tmp_path / "d", BASE)
    pd.DataFrame({"formulation_id": ["001"], "ingredient": ["W"], "amount": [1.0]}).to_parquet(
        root / "formulations.parquet")
    with pytest.raises(DataError, match="both formulations.csv and formulations.parquet exist"):
        load_dataset(root)


def test_every_problem_is_reported_at_once(tmp_path):
    files = {
        **_form("001,W,abc\n", "001,,1\n", "002,G,-3\n"),
        **_meas("001,visc,1\n", "F9,visc,x\n"),
        "properties.csv": "property,transform\nvisc,cube\n",
    }
    problems = problems_of(tmp_path / "d", files)
    assert [str(p) for p in problems] == [
        "formulations.csv, line 2: amount 'abc' is not a number",
        "formulations.csv, line 3: ingredient is empty",
        "formulations.csv, line 4: amount '-3' is negative",
        "measurements.csv, line 3: value 'x' is not a number",
        "measurements.csv, line 3: formulation 'F9' is not in formulations.csv",
        "properties.csv, line 2: transform 'cube' is not one of 'log', 'identity' (or empty)",
    ]


def test_long_problem_lists_are_capped(tmp_path):
    rows = [f"F{i},W,bad{i}\n" for i in range(60)]
    root = write(tmp_path / "d", {**_form(*rows), **_meas("F0,visc,1\n")})
    with pytest.raises(DataError) as info:
        load_dataset(root)
    assert len(info.value.problems) == 60
    lines = str(info.value).splitlines()
    assert lines[0] == f"60 problems in dataset {root}:"
    assert lines[1].strip() == "formulations.csv, line 2: amount 'bad0' is not a number"
    assert len(lines) == 1 + 50 + 1 and lines[-1].strip() == "... and 10 more"
    assert isinstance(info.value, ValueError)


def test_negative_values_and_optional_empty_cells_are_fine(tmp_path):
    files = {**BASE, "properties.csv": "property,group,transform,order\nvisc,,,\n"}
    ds = load_dataset(write(tmp_path / "d", files))
    assert ds.measurements["value"].min() == -2.0
    assert ds.property_groups() == {} and ds.property_orders() == {}


def test_non_positive_value_of_a_log_property_names_the_line(tmp_path):
    (tmp_path / "formulations.csv").write_text("formulation_id,ingredient,amount\nF1,A,1\nF2,A,2\n")
    (tmp_path / "measurements.csv").write_text(
        "formulation_id,property,value\nF1,viscosity,100\nF2,viscosity,0\n")
    (tmp_path / "properties.csv").write_text("property,group,transform\nviscosity,visc,log\n")
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path)
    assert "measurements.csv, line 3: value 0 of property 'viscosity' is not positive" in str(
        err.value)
