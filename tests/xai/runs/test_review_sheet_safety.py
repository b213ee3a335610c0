"""The review sheet as a spreadsheet sees it: no cell a spreadsheet would run as a formula,
a round trip that gives back the names as written, and problems on the lines an editor shows."""

import csv

import pytest

from models.io import FORMULA_STARTS
from xai.runs.review import ReviewError, read_sheet, write_sheet

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR",
           "plain"]


def _results() -> dict:
    ingredients = [{"ingredient": name, "group": "+g", "amount": 5.0, "ig": -0.5,
                    "shapley": -0.25, "ig_rank": k + 1, "shapley_rank": k + 1, "flags": []}
                   for k, name in enumerate(HOSTILE)]
    return {"review": {"cases": [{"formulation_id": "=1+1", "properties": [
        {"property": "@prop", "measured": -1.5, "predicted": -2.0,
         "ingredients": ingredients}]}]}}


def _cells(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


def test_no_exported_cell_starts_a_formula_unless_it_is_a_number(tmp_path):
    sheet = tmp_path / "sheet.csv"
    write_sheet(_results(), sheet)
    risky = [c for c in _cells(sheet) if c.startswith(FORMULA_STARTS)]
    for cell in risky:
        float(cell)  # only numbers (-0.5, -2.0) may start with - or +
    assert "'=1+1" in _cells(sheet) and "'@SUM(A1:A9)" in _cells(sheet)
    assert "-0.5" in risky


def test_a_filled_sheet_reads_back_with_the_names_as_written(tmp_path):
    sheet = tmp_path / "sheet.csv"
    write_sheet(_results(), sheet)
    with open(sheet, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    verdict = rows[0].index("expert_verdict")
    for row in rows[1:]:
        row[verdict] = "agree"
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    verdicts = read_sheet(sheet, _results())
    assert sorted(verdicts["ingredient"]) == sorted(HOSTILE)
    assert set(verdicts["formulation_id"]) == {"=1+1"}


def test_sheet_problems_are_on_editor_lines(tmp_path):
    sheet = tmp_path / "sheet.csv"
    write_sheet(_results(), sheet)
    with open(sheet, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    comment, verdict = rows[0].index("comment"), rows[0].index("expert_verdict")
    rows[1][comment] = "first line\nsecond line\nthird line"  # one record over three lines
    rows[3][verdict] = "yes"
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    text = sheet.read_text(encoding="utf-8")
    sheet.write_text(text.replace("\r\n", "\n", 1) + "\n\n", encoding="utf-8")
    with pytest.raises(ReviewError) as info:
        read_sheet(sheet, _results())
    assert "line 6: expert_verdict 'yes'" in str(info.value)  # not the 4th record's "line 4"
