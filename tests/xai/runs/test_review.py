"""The expert review sheet: export, validation, agreement rates and import."""

import json

import pandas as pd
import pytest

from models.io import write_json
from xai.runs.review import (
    REVIEW_FILE,
    ReviewError,
    agreement_rates,
    fold_review,
    import_review,
    load_review,
    read_sheet,
    review_rows,
    write_sheet,
)


@pytest.fixture
def report(tiny_audit, tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    write_json(folder / "results.json", tiny_audit.results)
    return folder


def test_one_row_per_formulation_property_ingredient(tiny_audit):
    rows = review_rows(tiny_audit.results)
    expected = sum(r["ig"] is not None or r["shapley"] is not None
                   for c in tiny_audit.results["review"]["cases"]
                   for p in c["properties"] for r in p["ingredients"])
    assert len(rows) == expected
    every = review_rows(tiny_audit.results, unattributed=True)
    assert len(every) > len(rows)  # the balance ingredient has no attribution: left out
    assert not rows.duplicated(["formulation_id", "property", "ingredient"]).any()


def test_export_fill_import_round_trip(report, tiny_audit, tmp_path):
    sheet_file = tmp_path / "sheet.csv"
    sheet = write_sheet(tiny_audit.results, sheet_file)
    assert (sheet["expert_verdict"] == "").all() and "comment" in sheet
    filled = pd.read_csv(sheet_file, dtype=str, keep_default_na=False)
    players = filled.index[filled["shapley_rank"] != ""]
    filled.loc[players[0], "expert_verdict"] = "agree"
    filled.loc[players[1], "expert_verdict"] = " Disagree "  # case and spaces are forgiven
    filled.loc[players[2], "expert_verdict"] = "unsure"
    filled.loc[players[2], "comment"] = "depends on the pH, <b>really</b>"
    filled.to_csv(sheet_file, index=False)

    record = import_review(sheet_file, report)
    overall = record["rates"]["overall"]
    assert (overall["n_agree"], overall["n_disagree"], overall["n_unsure"]) == (1, 1, 1)
    assert overall["agreement"] == pytest.approx(0.5)
    assert load_review(report)["rates"] == json.loads(json.dumps(record["rates"]))
    assert sorted(v["expert_verdict"] for v in record["verdicts"]) == [
        "agree", "disagree", "unsure"]
    folded = fold_review(record, tiny_audit.results)
    assert folded["stale"] == "" and folded["n_verdicts"] == 3


def test_rates_per_method_group_and_property():
    verdicts = pd.DataFrame({
        "formulation_id": ["F1"] * 5,
        "property": ["ph", "ph", "ph", "ph", "hardness"],
        "ingredient": ["a", "b", "c", "d", "a"],
        "expert_verdict": ["agree", "disagree", "agree", "unsure", "agree"],
        "comment": [""] * 5,
        "group": ["oil", "oil", "wax", "", "oil"],
        "ig_rank": [1, 2, 5, 1, 4],
        "shapley_rank": [4, 1, 2, 3, 1],
    })
    rates = agreement_rates(verdicts, top_k=3)
    assert rates["overall"]["n_rated"] == 4 and rates["overall"]["agreement"] == 0.75
    # IG's top 3: a, b (ph) and d (unsure) -> 1 of 2 rated
    assert rates["per_method"]["ig"]["agreement"] == 0.5
    # Shapley's top 3: b, c, d and a (hardness) -> 2 of 3 rated
    assert rates["per_method"]["shapley"]["n_rated"] == 3
    assert rates["per_method"]["shapley"]["agreement"] == pytest.approx(2 / 3)
    assert rates["per_group"]["oil"]["agreement"] == pytest.approx(2 / 3)
    assert rates["per_group"]["ungrouped"]["n_rated"] == 0
    assert rates["per_group"]["ungrouped"]["agreement"] is None
    assert rates["per_property"]["hardness"]["agreement"] == 1.0


def _sheet(tiny_audit, tmp_path, edit):
    file = tmp_path / "sheet.csv"
    write_sheet(tiny_audit.results, file)
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    frame = edit(frame)
    frame.to_csv(file, index=False)
    return file


def test_validation_names_every_bad_line(tiny_audit, tmp_path):
    def edit(frame):
        frame.loc[0, "expert_verdict"] = "agree"
        frame.loc[1, "expert_verdict"] = "maybe"
        frame.loc[2, "ingredient"] = "NOT-AN-INGREDIENT"
        frame.loc[2, "expert_verdict"] = "agree"
        return pd.concat([frame, frame.iloc[[0]]], ignore_index=True)

    file = _sheet(tiny_audit, tmp_path, edit)
    with pytest.raises(ReviewError) as err:
        read_sheet(file, tiny_audit.results)
    message = str(err.value)
    assert "line 3: expert_verdict 'maybe'" in message
    assert "line 4:" in message and "NOT-AN-INGREDIENT" in message
    assert "repeats line 2" in message


def test_empty_or_foreign_sheets_are_refused(tiny_audit, tmp_path):
    empty = _sheet(tiny_audit, tmp_path, lambda f: f)
    with pytest.raises(ReviewError, match="no expert_verdict filled in"):
        read_sheet(empty, tiny_audit.results)
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ReviewError, match="missing columns"):
        read_sheet(foreign, tiny_audit.results)


def test_verdicts_on_another_checkpoint_are_marked_stale(tiny_audit):
    record = {"rates": {"overall": {}}, "checkpoint_sha256": "0" * 64, "verdicts": []}
    assert "different checkpoint" in fold_review(record, tiny_audit.results)["stale"]


def test_import_needs_a_report_folder(tmp_path):
    with pytest.raises(ReviewError, match="not a report folder"):
        import_review(tmp_path / "sheet.csv", tmp_path)
    assert load_review(tmp_path) is None
    (tmp_path / REVIEW_FILE).write_text("{broken")
    with pytest.raises(ReviewError, match="invalid JSON"):
        load_review(tmp_path)


def _balance_line(tiny_audit, sheet_file):
    """Add the balance ingredient's row, judged, to an exported sheet; returns its line."""
    case = tiny_audit.results["review"]["cases"][0]
    balance = case["balance_ingredient"]
    assert balance and balance not in set(pd.read_csv(sheet_file, dtype=str)["ingredient"])
    sheet = pd.read_csv(sheet_file, dtype=str, keep_default_na=False)
    row = sheet.iloc[0].copy()
    row["ingredient"], row["expert_verdict"] = balance, "agree"
    sheet = pd.concat([sheet, row.to_frame().T], ignore_index=True)
    sheet.to_csv(sheet_file, index=False)
    return len(sheet) + 1, balance  # header is line 1


def test_sheet_leaves_out_the_balance_ingredient_and_import_refuses_it(report, tiny_audit,
                                                                       tmp_path):
    sheet_file = tmp_path / "sheet.csv"
    write_sheet(tiny_audit.results, sheet_file)
    line, balance = _balance_line(tiny_audit, sheet_file)
    with pytest.raises(ReviewError) as err:
        import_review(sheet_file, report)
    message = str(err.value)
    assert f"line {line}: ingredient {balance!r} has no attribution" in message
    assert "balance ingredient" in message


def test_import_shows_verdicts_on_the_review_pages(tiny_audit, tmp_path):
    from reports.writer import write_report
    from xai.cli import main

    folder = tmp_path / "report"
    write_report(tiny_audit, folder)
    before = {p.name: p.read_text() for p in (folder / "review").glob("*.html")}
    assert "To collect expert verdicts" in (folder / "index.html").read_text()
    sheet_file = tmp_path / "sheet.csv"
    assert main(["review", "export", "--report", str(folder), "--out", str(sheet_file),
                 "--quiet"]) == 0
    sheet = pd.read_csv(sheet_file, dtype=str, keep_default_na=False)
    assert (sheet["name"] != "").all() and (sheet["amount_unit"] == "wt%").all()
    assert (sheet["unit"] != "").all()  # every synthetic property has a unit
    fid = sheet.loc[0, "formulation_id"]
    sheet.loc[0, "expert_verdict"] = "disagree"
    sheet.loc[0, "comment"] = "too strong for <this> amount"
    sheet.loc[1, "expert_verdict"] = "agree"
    sheet.to_csv(sheet_file, index=False)
    assert main(["review", "import", str(sheet_file), "--report", str(folder), "--quiet"]) == 0

    page = next(p for p in (folder / "review").glob("*.html") if fid in p.name)
    html = page.read_text()
    assert html != before[page.name]
    assert "expert verdict" in html and "disagree" in html
    assert "too strong for &lt;this&gt; amount" in html
    index = (folder / "index.html").read_text()
    assert "To collect expert verdicts" not in index
    assert "Expert verdicts imported" in index
    results = json.loads((folder / "results.json").read_text())
    assert len(results["expert_review"]["verdicts"]) == 2
