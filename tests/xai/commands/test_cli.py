"""The stage-1 commands, run as a user runs them (through ``xai.cli.main``)."""

import filecmp
import subprocess
import sys

import pandas as pd
import pytest

from xai.cli import COMMANDS, main


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_toml):
    root = tmp_path_factory.mktemp("cli")
    assert main(["synth", "--out", str(root / "data"), "--formulations", "120", "--quiet"]) == 0
    (root / "tiny.toml").write_text(tiny_toml())
    assert main(["train", "--data", str(root / "data"), "--out", str(root / "model"),
                 "--config", str(root / "tiny.toml"), "--seed", "1", "--quiet"]) == 0
    return root


def test_synth_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert main(["synth", "--out", str(tmp_path / name), "--formulations", "60",
                     "--seed", "3", "--quiet"]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "truth.json" in files
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert mismatch == [] and errors == []


def test_train_writes_a_checkpoint_and_prints_metrics(trained, capsys):
    assert (trained / "model" / "model.safetensors").is_file()
    assert main(["train", "--data", str(trained / "data"), "--out", str(trained / "model2"),
                 "--config", str(trained / "tiny.toml"), "--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "median test R2" in out and "oracle R2" in out


def test_predict_writes_one_row_per_formulation_and_property(trained, tmp_path):
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(trained / "model"), "--data", str(trained / "data"),
                 "--out", str(out), "--property", "ph", "stability", "--quiet"]) == 0
    preds = pd.read_csv(out, dtype={"formulation_id": str})
    assert list(preds.columns[:3]) == ["formulation_id", "property", "prediction"]
    assert len(preds) == 2 * 120
    assert preds["prediction"].notna().all()
    # the option given twice adds up rather than keeping the last
    again = tmp_path / "again.csv"
    assert main(["predict", "--model", str(trained / "model"), "--data", str(trained / "data"),
                 "--out", str(again), "--property", "ph", "--property", "stability",
                 "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again, dtype={"formulation_id": str}), preds)


def test_predict_defaults_to_the_measured_properties(trained, tmp_path):
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(trained / "model"), "--data", str(trained / "data"),
                 "--out", str(out), "--quiet"]) == 0
    measured = pd.read_csv(trained / "data" / "measurements.csv", dtype=str)
    preds = pd.read_csv(out, dtype={"formulation_id": str})
    assert len(preds) == len(measured[["formulation_id", "property"]].drop_duplicates())


def test_bad_data_exits_2_naming_file_and_line(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "formulations.csv").write_text("formulation_id,ingredient,amount\nF1,A,abc\n")
    (data / "measurements.csv").write_text("formulation_id,property,value\nF1,ph,5\n")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "formulations.csv, line 2" in err and "abc" in err
    assert not (tmp_path / "m").exists()


def test_unknown_config_key_exits_2(trained, tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("[model]\nmixer_width = 3\n")
    assert main(["train", "--data", str(trained / "data"), "--out", str(tmp_path / "m"),
                 "--config", str(tmp_path / "bad.toml"), "--quiet"]) == 2
    assert "mixer_width" in capsys.readouterr().err


def test_unknown_property_exits_2(trained, tmp_path, capsys):
    assert main(["predict", "--model", str(trained / "model"), "--data", str(trained / "data"),
                 "--out", str(tmp_path / "p.csv"), "--property", "colour", "--quiet"]) == 2
    assert "colour" in capsys.readouterr().err


def test_missing_checkpoint_exits_2(trained, tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "nope"), "--data", str(trained / "data"),
                 "--out", str(tmp_path / "p.csv"), "--quiet"]) == 2
    assert "not a checkpoint folder" in capsys.readouterr().err


HEAVY = ("torch", "pandas", "scipy", "optuna", "sklearn", "matplotlib")


def test_building_the_parser_imports_no_numerical_stack():
    code = ("import sys\n"
            "from xai.cli import build_parser\n"
            "build_parser()\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [(), *((c,) for c in COMMANDS),
                                     ("experiment", "cv"), ("review", "export")])
def test_every_help_exits_0_without_the_numerical_stack(command):
    code = ("import sys\n"
            "from xai.cli import main\n"
            "try:\n"
            f"    main({[*command, '--help']!r})\n"
            "except SystemExit as done:\n"
            "    code = done.code\n"
            f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"
