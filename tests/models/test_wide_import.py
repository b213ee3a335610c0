"""Wide tables (CSV and Excel) to the data contract, and every bad cell named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.data import load_dataset
from models.wide_import import (
    WideImportError,
    WideLayout,
    read_mapping,
    read_wide,
    write_contract,
)
from xai.cli import main


def _long(seed: int = 0, n: int = 12):
    """A small dataset in long form: recipes of 2-4 of five ingredients, two properties."""
    rng = np.random.default_rng(seed)
    names = ["water", "glycerin", "oil A", "xanthan", "NaOH"]
    rows, meas = [], []
    for r in range(n):
        fid = f"R{r:03d}"
        for k in sorted(rng.choice(5, size=rng.integers(2, 5), replace=False)):
            rows.append((fid, names[k], round(float(rng.uniform(0.1, 50)), 3)))
        meas.append((fid, "viscosity", round(float(rng.uniform(100, 900)), 2)))
        if r % 3:
            meas.append((fid, "ph", round(float(rng.uniform(4, 8)), 2)))
    return (pd.DataFrame(rows, columns=["formulation_id", "ingredient", "amount"]),
            pd.DataFrame(meas, columns=["formulation_id", "property", "value"]))


def _wide(formulations, measurements) -> pd.DataFrame:
    amounts = formulations.pivot(index="formulation_id", columns="ingredient", values="amount")
    values = measurements.pivot(index="formulation_id", columns="property", values="value")
    return amounts.join(values).reset_index().rename(columns={"formulation_id": "Recipe"})


def _same(folder, formulations, measurements):
    data = load_dataset(folder)
    key = ["formulation_id", "ingredient"]
    got = data.formulations.sort_values(key).reset_index(drop=True)
    want = formulations.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    key = ["formulation_id", "property"]
    got = data.measurements.sort_values(key).reset_index(drop=True)
    want = measurements.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    return data


def test_csv_round_trip(tmp_path):
    formulations, measurements = _long()
    _wide(formulations, measurements).to_csv(tmp_path / "lab.csv", index=False)
    tables = read_wide(tmp_path / "lab.csv", WideLayout(properties=("viscosity", "ph")))
    write_contract(tables, tmp_path / "data")
    _same(tmp_path / "data", formulations, measurements)
    assert not (tmp_path / "data" / "properties.csv").exists()  # no units given


def test_xlsx_round_trip_with_units_row_sheet_and_mapping(tmp_path):
    from openpyxl import Workbook

    formulations, measurements = _long(seed=1)
    wide = _wide(formulations, measurements)
    book = Workbook()
    book.active.title = "Notes"
    ws = book.create_sheet("Recipes")
    ws.append(list(wide.columns) + ["comment"])
    ws.append([{"Recipe": "", "viscosity": "mPa s", "ph": ""}.get(c, "%") for c in wide.columns]
              + [""])
    for row in wide.itertuples(index=False):
        ws.append([None if isinstance(v, float) and np.isnan(v) else v for v in row] + ["ok"])
    book.save(tmp_path / "lab.xlsx")
    pd.DataFrame({"column": ["Recipe", "comment", "viscosity", "ph"],
                  "role": ["id", "ignore", "property", "property"],
                  "name": ["", "", "", "pH"], "unit": ["", "", "", "-"]}).to_csv(
        tmp_path / "map.csv", index=False)
    assert main(["import", "--wide", str(tmp_path / "lab.xlsx"), "--out", str(tmp_path / "data"),
                 "--sheet", "Recipes", "--units-row", "--mapping", str(tmp_path / "map.csv"),
                 "--quiet"]) == 0
    measurements["property"] = measurements["property"].replace({"ph": "pH"})
    data = _same(tmp_path / "data", formulations, measurements)
    units = pd.read_csv(tmp_path / "data" / "properties.csv").set_index("property")["unit"]
    assert units.to_dict() == {"viscosity": "mPa s", "pH": "-"}
    assert data.properties is not None


def test_a_bad_cell_is_named_by_sheet_and_cell(tmp_path, capsys):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "Recipes"
    ws.append(["id", "water", "oil", "viscosity"])
    for r in range(2, 20):
        ws.append([f"F{r}", 50.0, 10.0, 300.0])
    ws["C17"] = "abc"
    ws["B5"] = -3
    book.save(tmp_path / "lab.xlsx")
    with pytest.raises(WideImportError) as err:
        read_wide(tmp_path / "lab.xlsx", WideLayout(properties=("viscosity",)))
    assert "Recipes!C17: 'abc' is not a number" in str(err.value)
    assert "Recipes!B5: amount -3 is negative" in str(err.value)
    assert main(["import", "--wide", str(tmp_path / "lab.xlsx"), "--out", str(tmp_path / "d"),
                 "--properties", "viscosity"]) == 2
    assert "Recipes!C17: 'abc' is not a number" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_csv_errors_name_file_line_and_column(tmp_path):
    (tmp_path / "lab.csv").write_text("id,water,oil,ph\nA,50,10,5\nB,50,x,6\nA,40,1,\n,1,1,1\n")
    with pytest.raises(WideImportError) as err:
        read_wide(tmp_path / "lab.csv", WideLayout(properties=("ph",)))
    text = str(err.value)
    assert "lab.csv, line 3, column 'oil': 'x' is not a number" in text
    assert "lab.csv, line 4, column 'id': recipe id 'A' already used" in text
    assert "lab.csv, line 5, column 'id': the recipe id is empty" in text
    with pytest.raises(WideImportError, match="no property column 'pH'"):
        read_wide(tmp_path / "lab.csv", WideLayout(properties=("pH",)))


def test_recipes_only_and_mapping_errors(tmp_path):
    (tmp_path / "lab.csv").write_text("id,water,oil\nA,50,10\nB,60,0\n")
    write_contract(read_wide(tmp_path / "lab.csv", WideLayout()), tmp_path / "data")
    assert not (tmp_path / "data" / "measurements.csv").exists()
    data = load_dataset(tmp_path / "data", require_measurements=False)
    assert data.recipe("B")[0] == ["water"]  # an amount of 0 is absent
    (tmp_path / "map.csv").write_text("column,role\nid,id\nwater,solvent\n")
    with pytest.raises(WideImportError, match="map.csv, line 3: role 'solvent'"):
        read_mapping(tmp_path / "map.csv")
    assert main(["import", "--wide", str(tmp_path / "lab.csv"), "--out",
                 str(tmp_path / "x")]) == 2
