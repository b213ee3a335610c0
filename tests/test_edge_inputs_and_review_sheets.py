"""Valid edge cases (BOM, CRLF, quoted and multi-line cells, emoji, long names, ids 007 and 7)
load, train and report; damaged reports and review sheets exit 2 naming the line."""


from pathlib import Path

import pandas as pd
import pytest
from bad_input_corpus import (  # tests/support/bad_input_corpus.py
    assert_refused,
    run_cli,
    tree,
)

from models.data import load_dataset

# ------------------------------------------------------------------------ valid edge cases

LONG = "L" * 10_000
EMOJI = "🧴 lotion base 💧"


def _edge_dataset(root: Path) -> Path:
    f = ("\ufeffformulation_id,ingredient,amount\r\n"
         f'007,"{EMOJI}",60\r\n007,"{LONG}",40\r\n'
         '7,W,50\r\n7,"G, the ""good"" one",50\r\n'
         '\r\n'
         '8,W,70\r\n8,"multi\r\nline",30\r\n'
         '9,W,80\r\n9,G,20\r\n010,W,90\r\n010,G,10\r\n')
    m = ("formulation_id,property,value\r\n007,ph,5\r\n7,ph,6\r\n8,ph,7\r\n9,ph,7.5\r\n"
         "010,ph,8\r\n")
    root.mkdir()
    (root / "formulations.csv").write_bytes(f.encode())
    (root / "measurements.csv").write_bytes(m.encode())
    return root


def test_valid_edge_cases_load_as_written(tmp_path):
    dataset = load_dataset(_edge_dataset(tmp_path / "data"))
    assert dataset.formulation_ids == ["007", "7", "8", "9", "010"]
    codes, amounts = dataset.recipe("007")
    assert codes == [EMOJI, LONG] and list(amounts) == [60, 40]
    assert dataset.recipe("7")[0] == ["W", 'G, the "good" one']
    assert dataset.recipe("8")[0] == ["W", "multi\r\nline"]


def test_valid_edge_cases_train_and_predict(tmp_path, capsys):
    data = _edge_dataset(tmp_path / "data")
    config = tmp_path / "tiny.toml"
    config.write_text("[model]\nbase_dim = 4\nmixer_dim = 8\nn_layers = 1\nn_heads = 2\n"
                      "head_hidden = 8\n[train]\nepochs = 2\n")
    code, err = run_cli(["train", "--data", str(data), "--out", str(tmp_path / "model"),
                      "--config", str(config), "--quiet"], capsys)
    assert code == 0, err
    code, err = run_cli(["predict", "--model", str(tmp_path / "model"), "--data", str(data),
                      "--out", str(tmp_path / "p.csv"), "--quiet"], capsys)
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "p.csv", dtype=str)
    assert list(predictions["formulation_id"]) == ["007", "7", "8", "9", "010"]
    # the same command again replaces its own output
    code, err = run_cli(["train", "--data", str(data), "--out", str(tmp_path / "model"),
                      "--config", str(config), "--quiet"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model", "p.csv",
                                                          "tiny.toml"]


def test_a_report_on_names_with_dollars_and_formula_starts(tiny_data_dir, tmp_path, capsys):
    """Names that matplotlib would read as TeX and spreadsheets as formulas: the report is
    written, and the exported sheets neutralise the formula-like cells."""
    from models.checkpoint import save_model
    from models.pipeline import fit_model
    from models.training import TrainConfig

    ingredient, prop = "$\\frac{1}{0}$ base", "=price $ per kg $"
    data = tmp_path / "data"
    data.mkdir()
    formulations = pd.read_csv(tiny_data_dir / "formulations.csv", dtype=str)
    victim = formulations["ingredient"].value_counts().index[1]
    formulations["ingredient"] = formulations["ingredient"].replace({victim: ingredient})
    formulations.to_csv(data / "formulations.csv", index=False)
    measurements = pd.read_csv(tiny_data_dir / "measurements.csv", dtype=str)
    measurements["property"] = measurements["property"].replace({"ph": prop})
    measurements.to_csv(data / "measurements.csv", index=False)
    dataset = load_dataset(data)
    model = fit_model(dataset, mixer_options={"base_dim": 8, "mixer_dim": 16, "n_layers": 1,
                                              "n_heads": 2, "head_hidden": 16},
                      train_config=TrainConfig(epochs=3, seed=0), progress=False)
    save_model(model, tmp_path / "model")
    code, err = run_cli(["report", "--model", str(tmp_path / "model"), "--data", str(data),
                      "--out", str(tmp_path / "report"), "--quick", "--quiet"], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    attributions = pd.read_csv(tmp_path / "report" / "attributions.csv", dtype=str,
                               keep_default_na=False)
    assert ingredient in set(attributions["ingredient"])
    assert "'" + prop in set(attributions["property"])  # neutralised for spreadsheets
    for column in attributions.columns:
        cells = attributions[column]
        risky = cells[cells.str.startswith(("=", "+", "-", "@", "\t", "\r"))]
        assert pd.to_numeric(risky, errors="coerce").notna().all(), column


REVIEW_RESULTS = {
    "a list": (b"[1, 2]", "JSON object"),
    "not UTF-8": (b'{"review": "\xff"}', "UTF-8"),
    "truncated": (b'{"review": {', "invalid JSON"),
    "cases without properties": (b'{"review": {"cases": [{"formulation_id": "1"}]}}',
                                 "malformed review section"),
    "review a string": (b'{"review": "x"}', "malformed review section"),
}


@pytest.mark.parametrize("text, words", list(REVIEW_RESULTS.values()), ids=list(REVIEW_RESULTS))
def test_review_export_of_a_damaged_report_exits_2(text, words, tmp_path, capsys):
    report = tmp_path / "report"
    report.mkdir()
    (report / "results.json").write_bytes(text)
    before = tree(tmp_path)
    code, err = run_cli(["review", "export", "--report", str(report), "--out",
                      str(tmp_path / "sheet.csv")], capsys)
    assert_refused(code, err, "results.json", words)
    assert tree(tmp_path) == before


SHEETS = {
    "not UTF-8 on line 3": (b"formulation_id,property,ingredient,expert_verdict\n1,p,a,agree\n"
                            b"1,p,b,d\xe9saccord\n", "line 3", "not UTF-8"),
    "empty": (b"", "sheet.csv", "file is empty"),
    "extra field": (b"formulation_id,property,ingredient,expert_verdict\n1,p,a,agree,x\n",
                    "line 2", "fields"),
}


@pytest.mark.parametrize("text, where, words", list(SHEETS.values()), ids=list(SHEETS))
def test_review_import_of_a_damaged_sheet_exits_2_naming_the_line(text, where, words,
                                                                  tmp_path, capsys):
    report = tmp_path / "report"
    report.mkdir()
    (report / "results.json").write_text('{"review": {"cases": []}}')
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(text)
    before = tree(tmp_path)
    code, err = run_cli(["review", "import", str(sheet), "--report", str(report)], capsys)
    assert_refused(code, err, "sheet.csv", where, words)
    assert tree(tmp_path) == before
