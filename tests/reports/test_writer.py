"""``reports.write_report``: the whole report folder from an audit, atomically."""

import copy
import json

import pandas as pd
import pytest

import reports
from xai.runs.audit import Audit


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_an_audit_writes_every_file(tiny_audit, tmp_path):
    index = reports.write_report(tiny_audit, tmp_path / "report")
    folder = tmp_path / "report"
    assert index == folder / "index.html" and index.is_file()
    assert len(list((folder / "review").glob("*.html"))) == len(
        tiny_audit.results["review"]["cases"])
    text = (folder / "results.json").read_text()
    assert _strict(text) == json.loads(json.dumps(tiny_audit.results))
    assert text == json.dumps(tiny_audit.results, sort_keys=True, separators=(",", ":"),
                              allow_nan=False) + "\n"
    table = pd.read_csv(folder / "attributions.csv")
    assert list(table.columns) == list(tiny_audit.attributions.columns)
    assert len(table) == len(tiny_audit.attributions)
    assert not list(tmp_path.glob(".report.*"))  # no temporary folder left behind


def test_bare_results_and_audits_without_a_table_write_no_csv(tiny_audit, tmp_path):
    reports.write_report(tiny_audit.results, tmp_path / "a")
    reports.write_report(Audit(results=tiny_audit.results, attributions=None), tmp_path / "b")
    for name in ("a", "b"):
        assert (tmp_path / name / "index.html").is_file()
        assert (tmp_path / name / "results.json").is_file()
        assert not (tmp_path / name / "attributions.csv").exists()


def test_a_nan_is_written_as_null_and_an_unwritable_value_keeps_the_previous_report(
        tiny_audit, tmp_path):
    folder = tmp_path / "report"
    reports.write_report(tiny_audit, folder)
    before = (folder / "results.json").read_text()
    results = copy.deepcopy(tiny_audit.results)
    results["units"] = float("nan")
    reports.write_report(results, folder)
    assert _strict((folder / "results.json").read_text())["units"] is None
    results["units"] = object()  # nothing JSON can hold: refused before anything is written
    written = (folder / "results.json").read_text()
    with pytest.raises(TypeError):
        reports.write_report(results, folder)
    assert (folder / "results.json").read_text() == written != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_files_of_ones_own_go_in_before_the_folder_appears(tiny_audit, tmp_path):
    seen = []

    def extra(tmp):
        seen.append(sorted(p.name for p in tmp.iterdir()))
        (tmp / "notes.txt").write_text("kept")

    reports.write_report(tiny_audit, tmp_path / "report", before_replace=extra)
    assert seen == [["attributions.csv", "index.html", "results.json", "review"]]
    assert (tmp_path / "report" / "notes.txt").read_text() == "kept"


def test_a_failure_while_writing_leaves_nothing(tiny_audit, tmp_path):
    def boom(tmp):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        reports.write_report(tiny_audit, tmp_path / "report", before_replace=boom)
    assert list(tmp_path.iterdir()) == []
