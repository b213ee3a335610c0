"""The report commands as a user runs them: the demo's outputs, the expert review round-trip
from the command line, and a report interrupted half-way."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from xai.cli import main

SCHEMA = Path(__file__).parent.parent / "reports" / "schema" / "results.schema.json"
CLI = [sys.executable, "-c", "import sys; from xai.cli import main; sys.exit(main())"]


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_demo_writes_a_complete_report(small_demo):
    report = small_demo / "report"
    names = {p.name for p in report.iterdir()}
    assert {"index.html", "results.json", "attributions.csv", "review"} <= names
    assert not [n for n in os.listdir(small_demo) if ".tmp-" in n or ".old-" in n]
    results = json.loads((report / "results.json").read_text())
    assert results["problems"] == []
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(results, json.loads(SCHEMA.read_text()))
    pages = sorted((report / "review").glob("*.html"))
    assert len(pages) == len(results["review"]["cases"]) == 3
    table = pd.read_csv(report / "attributions.csv", dtype={"formulation_id": str})
    assert set(table["method"]) == {"ig", "shapley"}
    assert _size(report) < 10 * 2**20


def test_review_round_trip_from_the_command_line(small_demo, tmp_path, capsys):
    report = tmp_path / "report"
    shutil.copytree(small_demo / "report", report)
    sheet = tmp_path / "sheet.csv"
    assert main(["review", "export", "--report", str(report), "--out", str(sheet)]) == 0
    rows = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    players = rows.index[rows["shapley_rank"] != ""][:4]
    rows.loc[players, "expert_verdict"] = ["agree", "agree", "agree", "disagree"]
    rows.loc[players[3], "comment"] = "this emulsifier should lower it"
    rows.to_csv(sheet, index=False)
    capsys.readouterr()
    assert main(["review", "import", str(sheet), "--report", str(report)]) == 0
    assert "75% of 4 rated" in capsys.readouterr().out

    data, model = small_demo / "data", small_demo / "model"
    assert main(["report", "--model", str(model), "--data", str(data), "--out", str(report),
                 "--quick", "--quiet"]) == 0
    results = json.loads((report / "results.json").read_text())
    overall = results["expert_review"]["rates"]["overall"]
    assert (overall["n_agree"], overall["n_disagree"], overall["agreement"]) == (3, 1, 0.75)
    assert results["expert_review"]["stale"] == ""
    assert (report / "expert_review.json").is_file()  # carried over for the next report
    html = (report / "index.html").read_text()
    assert "Expert agreement" in html and "75%" in html


def test_a_bad_sheet_is_refused_with_its_line(small_demo, tmp_path, capsys):
    report = small_demo / "report"
    sheet = tmp_path / "sheet.csv"
    assert main(["review", "export", "--report", str(report), "--out", str(sheet),
                 "--quiet"]) == 0
    rows = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    rows.loc[4, "expert_verdict"] = "yes"
    rows.to_csv(sheet, index=False)
    before = {p.name for p in report.iterdir()}
    assert main(["review", "import", str(sheet), "--report", str(report)]) == 2
    assert "line 6: expert_verdict 'yes'" in capsys.readouterr().err
    assert {p.name for p in report.iterdir()} == before


def _start_report(small_demo: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "MIXER_XAI_TEST_PAUSE": "120"}
    return subprocess.Popen(
        [*CLI, "report", "--model", str(small_demo / "model"), "--data",
         str(small_demo / "data"), "--out", str(out), "--quick", "--quiet",
         "--reference-cases", "0"],  # the cross-check is not what this test is about
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # a runner started in the background ignores SIGINT, and a child inherits that;
        # give the command the default disposition so Python turns SIGINT into KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_finished_temp(out: Path, process: subprocess.Popen) -> Path:
    """The temporary report folder, once its pages are written (the command then pauses)."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        for tmp in out.parent.glob(f".{out.name}.tmp-*"):
            if (tmp / "index.html").is_file():
                return tmp
        if process.poll() is not None:
            pytest.fail(f"report ended early: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.5)
    process.kill()
    pytest.fail("the report never reached its final move")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT],
                         ids=["SIGKILL", "SIGINT"])
def test_an_interrupted_report_leaves_the_previous_one_intact(small_demo, tmp_path, how):
    out = tmp_path / "report"
    shutil.copytree(small_demo / "report", out)
    previous = tmp_path / "previous"
    shutil.copytree(out, previous)
    process = _start_report(small_demo, out)
    tmp = _wait_for_finished_temp(out, process)
    process.send_signal(how)
    process.wait(timeout=60)
    assert process.returncode != 0
    compare = filecmp.dircmp(previous, out)
    assert not compare.left_only and not compare.right_only and not compare.diff_files
    for name in ("index.html", "results.json", "attributions.csv"):
        assert filecmp.cmp(previous / name, out / name, shallow=False)
    assert filecmp.cmpfiles(previous / "review", out / "review",
                            [p.name for p in (previous / "review").iterdir()],
                            shallow=False)[1:] == ([], [])
    if how == signal.SIGINT:  # an interruption Python sees cleans up after itself
        assert not tmp.exists()
        assert not list(tmp_path.glob(".report.*"))
