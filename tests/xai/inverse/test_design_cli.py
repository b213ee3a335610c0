"""``xai design`` end to end: outputs, strict JSON, the round trip through ``xai predict``, and
exit code 2 on bad targets and options."""

from __future__ import annotations

import json
import math
import re
import shutil

import pandas as pd
import pytest

from xai.cli import main

# one thread, as the test session runs (main() would otherwise size torch's pool to the CPUs)
FAST = ["--budget", "200", "--pop-size", "50", "--n", "5", "--quiet", "--threads", "1"]


def _args(checkpoint, data, out, *targets):
    args = ["design", "--model", str(checkpoint), "--data", str(data), "--out", str(out)]
    for t in targets:
        args += ["--target", t]
    return args + FAST


@pytest.fixture(scope="module")
def designed(tiny_checkpoint, tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("design") / "out"
    assert main(_args(tiny_checkpoint, tiny_data_dir, out, "ph=5..6.5",
                      "stability=50+-30")) == 0
    return out


def _reject_constant(name):
    raise ValueError(f"{name} in strict JSON")


def test_outputs_are_strict_and_complete(designed, tiny_model):
    summary = json.loads((designed / "design.json").read_text(), parse_constant=_reject_constant)
    assert len(summary["designs"]) == 5
    assert {m["method"] for m in summary["methods"]} == {"nsga2", "random"}
    first = summary["designs"][0]
    names = [p["property"] for p in first["predictions"]]
    assert names[:2] == ["ph", "stability"] and sorted(names) == sorted(tiny_model.properties)
    assert [p["targeted"] for p in first["predictions"]] == [True, True] + [False] * 10
    assert first["truth"] is not None and len(first["nearest_training"]) == 3
    # the tiny checkpoint predates intervals and domains: no interval, and says why; flags
    # against the design space's training recipes
    assert summary["intervals"]["coverage"] is None and "no interval" in \
        summary["intervals"]["reason"]
    assert summary["flags"]["source"] == "training recipes"
    for p in first["predictions"]:
        assert p["lower"] is None and p["upper"] is None and p["interval_inside_target"] is None
        assert p["interval_reason"]
    assert first["intervals_inside_targets"] is None
    assert summary["units"]["ph"] == "pH"
    table = pd.read_csv(designed / "designs.csv", dtype={"formulation_id": str})
    assert list(table.columns) == ["formulation_id", "ingredient", "amount"]
    assert table["formulation_id"].nunique() == 5


def test_page_is_self_contained_and_escaped(tiny_checkpoint, tiny_data_dir, tiny_dataset,
                                            tmp_path):
    start = tiny_dataset.formulation_ids[7]
    out = tmp_path / "page"
    assert main(_args(tiny_checkpoint, tiny_data_dir, out, "ph=5..6.5")
                + ["--start", start, "--max-changes", "3", "--baselines", "none"]) == 0
    page = (out / "design.html").read_text()
    summary = json.loads((out / "design.json").read_text())
    assert "Which change moved which property" in page
    for d in summary["designs"]:
        assert f'id="{d["design_id"]}"' in page
    # nothing is fetched: no src/href/url() to a network address, and the one script is the
    # inline table script whose hash the page's content security policy names
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:|url\(\s*["']?https?:""", page)
    assert page.count("<script") == 1 and "<script src" not in page
    assert "script-src 'sha256-" in page


def _flags(value) -> list[str]:
    """A flags cell of ``xai predict``'s CSV as a list (an empty cell reads as NaN)."""
    return [] if not isinstance(value, str) else value.split(";")


def _same(csv_value, json_value) -> bool:
    """A CSV number equals a design.json one: finite ones within float tolerance, a non-finite
    one (or an absent column) where strict JSON wrote null."""
    if json_value is None:
        return csv_value is None or not math.isfinite(csv_value)
    return csv_value == pytest.approx(json_value, rel=1e-6, abs=1e-9)


def test_calibrated_designs_round_trip_through_predict(ensemble_checkpoint, tiny_data_dir,
                                                       tmp_path, capsys):
    """designs.csv fed to ``xai predict`` gives design.json's prediction, spread, interval and
    flags for every property, on a calibrated ensemble with a domain."""
    out = tmp_path / "out"
    assert main(_args(ensemble_checkpoint, tiny_data_dir, out, "ph=5..6.5", "stability=50+-30")
                + ["--baselines", "none"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "design.json").read_text(), parse_constant=_reject_constant)
    method = json.loads((ensemble_checkpoint / "conformal.json").read_text())["method"]
    assert summary["intervals"]["coverage"] == 0.9 and summary["intervals"]["method"] == method
    assert summary["flags"]["source"] == "model"
    assert f"interval ({method}) wholly inside its target" in printed
    for d in summary["designs"]:  # the printed table: each design's targets with intervals
        ph = d["predictions"][0]
        line = next(x for x in printed.splitlines() if x.startswith(d["design_id"] + " "))
        assert f"{ph['prediction']:.4g} [{ph['lower']:.4g} - {ph['upper']:.4g}]" in line
        assert ("yes" if d["meets_targets"] else "no") in line.split()
    data = tmp_path / "designs"
    data.mkdir()
    shutil.copy(out / "designs.csv", data / "formulations.csv")
    csv = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(ensemble_checkpoint), "--data", str(data), "--out",
                 str(csv), "--quiet", "--threads", "1"]) == 0
    predicted = pd.read_csv(csv, dtype={"formulation_id": str})
    predicted = predicted.set_index(["formulation_id", "property"])
    compared = 0
    for d in summary["designs"]:
        assert len(d["predictions"]) == len(predicted.loc[d["design_id"]])
        for p in d["predictions"]:
            row = predicted.loc[(d["design_id"], p["property"])]
            for column in ("prediction", "spread", "lower", "upper"):
                assert _same(row[column], p[column]), (d["design_id"], p["property"], column)
            assert _flags(row["flags"]) == p["flags"]
            if p["lower"] is not None and p["upper"] is not None:
                assert p["lower"] <= p["prediction"] <= p["upper"]
            compared += 1
        assert d["flags"] == list(dict.fromkeys(f for p in d["predictions"] for f in p["flags"]))
    assert compared == 5 * 12


def test_designs_round_trip_through_predict(designed, tiny_checkpoint, tmp_path):
    data = tmp_path / "designs"
    data.mkdir()
    shutil.copy(designed / "designs.csv", data / "formulations.csv")
    out = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(tiny_checkpoint), "--data", str(data), "--out",
                 str(out), "--property", "ph", "stability", "--quiet"]) == 0
    predicted = pd.read_csv(out, dtype={"formulation_id": str})
    summary = json.loads((designed / "design.json").read_text())
    for d in summary["designs"]:
        for p in d["predictions"][:2]:
            got = predicted[(predicted["formulation_id"] == d["design_id"])
                            & (predicted["property"] == p["property"])]
            assert got["prediction"].item() == pytest.approx(p["prediction"], rel=1e-6)


def test_counterfactual_cli(tiny_checkpoint, tiny_data_dir, tiny_dataset, tmp_path, capsys):
    start = tiny_dataset.formulation_ids[7]
    out = tmp_path / "cf"
    assert main(_args(tiny_checkpoint, tiny_data_dir, out, "ph=5..6.5")
                + ["--start", start, "--max-changes", "2", "--baselines", "none"]) == 0
    summary = json.loads((out / "design.json").read_text())
    assert all(len(d["changes"]) <= 2 for d in summary["designs"])
    assert [m["method"] for m in summary["methods"]] == ["nsga2"]
    assert "meet every target under the truth" in capsys.readouterr().out


def test_allowed_forbidden_and_fixed(tiny_checkpoint, tiny_data_dir, tiny_dataset, tmp_path):
    counts = tiny_dataset.formulations["ingredient"].value_counts()
    forbidden = counts.index[1:4].tolist()
    fixed = counts.index[5]
    (tmp_path / "forbidden.txt").write_text("# never these\n" + "\n".join(forbidden) + "\n\n")
    out = tmp_path / "constrained"
    assert main(_args(tiny_checkpoint, tiny_data_dir, out, "ph=5..6.5")
                + ["--forbidden", str(tmp_path / "forbidden.txt"), "--fixed", f"{fixed}=0.5",
                   "--baselines", "none"]) == 0
    table = pd.read_csv(out / "designs.csv")
    assert not table["ingredient"].isin(forbidden).any()
    assert (table.loc[table["ingredient"] == fixed, "amount"] == 0.5).sum() == 5


@pytest.mark.parametrize("targets, extra, words", [
    (["density=1..2"], [], "does not predict 'density'"),
    (["ph=7..6"], [], "empty"),
    (["ph=40..50"], [], "never reached"),
    (["ph=five"], [], "cannot read"),
    (["ph=5..6"], ["--max-changes", "2"], "needs a start recipe"),
    (["ph=5..6"], ["--fixed", "x"], "INGREDIENT=AMOUNT"),
    (["ph=5..6"], ["--baselines", "cma"], "unknown"),
    (["ph=5..6"], ["--allowed", "/no/such/file"], "cannot read"),
])
def test_bad_input_exits_2(tiny_checkpoint, tiny_data_dir, tmp_path, capsys, targets, extra,
                           words):
    out = tmp_path / "bad"
    assert main(_args(tiny_checkpoint, tiny_data_dir, out, *targets) + extra) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()
