"""A generated corpus of bad input, run through the command line in-process: every case exits 2
with a message naming the file and line (data), the file and key (checkpoint) or the key and
line (configuration), without a traceback and without writing any output. Valid edge cases
(BOM, CRLF, quoted and multi-line cells, emoji, 10,000-character names, ids 007 and 7) still
load and train.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from models.data import load_dataset
from models.outputs import write_marker
from xai.cli import main

# ----------------------------------------------------------------------- the corpus itself

HEADERS = {"formulations.csv": ["formulation_id", "ingredient", "amount"],
           "measurements.csv": ["formulation_id", "property", "value"]}
ROWS = {
    "formulations.csv": [["F1", "W", "60"], ["F1", "G", "40"], ["F2", "W", "50"],
                         ["F2", "G", "50"], ["F3", "W", "70"], ["F3", "G", "30"],
                         ["F4", "W", "80"], ["F4", "G", "20"]],
    "measurements.csv": [["F1", "ph", "5"], ["F2", "ph", "6"], ["F3", "ph", "7"],
                         ["F4", "ph", "7.5"]],
}
BAD_ROW = 2  # the (0-based) data row that gets the bad cell

# bad cell text -> words the message must contain
BAD_NUMBERS = {
    "abc": "is not a number", "": "is empty", "nan": "is NaN", "inf": "is infinite",
    "-inf": "is infinite", "1e308": "too large", "-1e300": "too large", "0x1A": "not a number",
}
BAD_AMOUNTS = {**BAD_NUMBERS, "-1": "is negative"}
BAD_TEXT = {"": "is empty", "   ": "is empty"}

# How the file around the bad row is laid out; each adds lines an editor counts.
LAYOUTS = ("plain", "crlf", "bom", "blank lines", "multi-line cell", "quoted")


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, bytes]  # the dataset folder
    file: str  # the file the message must name
    line: int | None  # and the line (None: a file-level problem)
    words: str  # and these words


def _render(name: str, rows: list[list[str]], layout: str, bad: int | None) -> tuple[bytes, int]:
    """The file's bytes and the editor line of data row ``bad``."""
    newline = "\r\n" if layout == "crlf" else "\n"
    lines = [",".join(HEADERS[name])]
    line_of_bad = 0
    for i, row in enumerate(rows):
        cells = list(row)
        if layout == "quoted":
            cells = [f'"{c}"' for c in cells]
        if layout == "multi-line cell" and i == 0:
            cells[1] = f'"{cells[1]}\nsecond line\nthird"'  # one record over three lines
        if layout == "blank lines" and i == 1:
            lines += ["", "   ", ""]
        text = ",".join(cells)
        if i == bad:
            line_of_bad = sum(part.count("\n") + 1 for part in lines) + 1
        lines.append(text)
    body = newline.join(lines) + newline
    data = body.encode("utf-8")
    if layout == "bom":
        data = b"\xef\xbb\xbf" + data
    return data, line_of_bad


def _dataset(**changes: list[list[str]] | bytes) -> dict[str, bytes]:
    files = {n: _render(n, r, "plain", None)[0] for n, r in ROWS.items()}
    for name, value in changes.items():
        name = name.replace("_", ".")
        files[name] = value if isinstance(value, bytes) else _render(name, value, "plain",
                                                                       None)[0]
    return files


def cell_cases() -> list[Case]:
    """One bad cell in each column, under every layout."""
    cases = []
    for file, column, bad_values in (
        ("formulations.csv", 2, BAD_AMOUNTS), ("measurements.csv", 2, BAD_NUMBERS),
        ("formulations.csv", 0, BAD_TEXT), ("formulations.csv", 1, BAD_TEXT),
        ("measurements.csv", 1, BAD_TEXT),
    ):
        for text, words in bad_values.items():
            for layout in LAYOUTS:
                rows = [list(r) for r in ROWS[file]]
                rows[BAD_ROW][column] = text
                data, line = _render(file, rows, layout, BAD_ROW)
                files = _dataset()
                files[file] = data
                label = HEADERS[file][column]
                cases.append(Case(f"{file}:{label}={text!r}:{layout}", files, file, line,
                                  words))
    return cases


def file_cases() -> list[Case]:
    """Whole-file and structural problems."""
    f_rows = [list(r) for r in ROWS["formulations.csv"]]
    cases = [
        Case("empty formulations", _dataset(formulations_csv=b""), "formulations.csv", None,
             "file is empty"),
        Case("only blank lines", _dataset(formulations_csv=b"\n\n  \n"), "formulations.csv",
             None, "file is empty"),
        Case("header only", _dataset(formulations_csv=b"formulation_id,ingredient,amount\n"),
             "formulations.csv", None, "has no rows"),
        Case("latin-1 byte on line 4", _dataset(formulations_csv=(
            "formulation_id,ingredient,amount\nF1,W,60\nF1,G,40\nF2,Gly\xe7,50\n"
        ).encode("latin-1")), "formulations.csv", 4, "not UTF-8"),
        Case("pickle bytes", _dataset(measurements_csv=b"\x80\x04\x95\x0b\x00\x00\x00\x00"),
             "measurements.csv", 1, "cannot be read as CSV: a NUL byte"),
        Case("UTF-16 text", _dataset(measurements_csv="formulation_id,property,value\n"
                                                      "F1,ph,5\n".encode("utf-16")),
             "measurements.csv", 1, "is UTF-16 text"),
        Case("NUL byte", _dataset(formulations_csv=b"formulation_id,ingredient,amount\n"
                                                   b"F1,W,60\nF1,G\x00,40\n"),
             "formulations.csv", 3, "cannot be read as CSV"),
        Case("unquoted decimal comma", _dataset(formulations_csv=(
            b"formulation_id,ingredient,amount\nF1,W,60\nF1,G,1,5\n")),
            "formulations.csv", 3, "decimal comma"),
        Case("extra field after a multi-line cell", _dataset(formulations_csv=(
            b'formulation_id,ingredient,amount\nF1,"W\nX",60\nF1,G,40,1\n')),
            "formulations.csv", 4, "fields"),
        Case("missing column", _dataset(measurements_csv=b"formulation_id,property\nF1,ph\n"),
             "measurements.csv", 1, "missing required column 'value'"),
        Case("measurement of an unknown formulation", _dataset(measurements_csv=[
            *ROWS["measurements.csv"], ["F9", "ph", "4"]]), "measurements.csv", 6,
            "formulation 'F9' is not in formulations.csv"),
        Case("unknown transform", {**_dataset(), "properties.csv":
                                   b"property,group,transform\nph,acidity,sqrt\n"},
             "properties.csv", 2, "transform 'sqrt'"),
        Case("log of a negative value", {**_dataset(measurements_csv=[
            ["F1", "ph", "5"], ["F2", "ph", "-6"], ["F3", "ph", "7"]]),
            "properties.csv": b"property,transform\nph,log\n"}, "measurements.csv", 3,
            "not positive"),
        Case("conflicting groups", {**_dataset(), "ingredients.csv":
                                    b"ingredient,group\nW,water\n\nW,oil\n"},
             "ingredients.csv", 4, "listed again"),
        Case("invalid truth.json", {**_dataset(), "truth.json": b'{"families":\n  [1,\n}'},
             "truth.json", 3, "not valid JSON"),
        Case("truth.json of the wrong type", {**_dataset(), "truth.json": b"[1, 2]"},
             "truth.json", None, "JSON object"),
        Case("both csv and parquet", {**_dataset(), "measurements.parquet": b"PAR1"},
             "measurements.csv", None, "keep only one"),
        Case("one formulation", _dataset(formulations_csv=f_rows[:2], measurements_csv=[
            ["F1", "ph", "5"]]), "measurements.csv", None, "too few"),
    ]
    return cases


CORPUS = cell_cases() + file_cases()


# --------------------------------------------------------------------------------- helpers


def _write(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a hash of its bytes (folders as ``dir``)."""
    return {str(p.relative_to(root)): ("dir" if p.is_dir() else
                                       hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*"))}


def _run(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    return code, capsys.readouterr().err


def _assert_refused(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, f"{w!r} not in:\n{err}"


# ------------------------------------------------------------------------ data corpus


def test_the_corpus_is_large_and_every_layout_moves_the_line():
    assert len(CORPUS) >= 150
    lines = {c.line for c in cell_cases() if c.name.startswith("formulations.csv:amount='abc'")}
    assert len(lines) >= 3  # the layouts put the same row on different editor lines


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_bad_data_exits_2_naming_file_and_line(case, tmp_path, capsys):
    data = _write(tmp_path / "data", case.files)
    before = _tree(tmp_path)
    code, err = _run(["train", "--data", str(data), "--out", str(tmp_path / "model"),
                      "--quiet"], capsys)
    where = f"{case.file}, line {case.line}:" if case.line else f"{case.file}:"
    _assert_refused(code, err, where, case.words)
    assert "required file is missing" not in err  # no second, false message
    assert _tree(tmp_path) == before  # no output, no lock, no temporary folder


def test_messages_name_every_bad_line_at_once(tmp_path, capsys):
    rows = [list(r) for r in ROWS["formulations.csv"]]
    rows[1][2], rows[4][2], rows[6][2] = "x", "1e309", "-3"
    data = _write(tmp_path / "data", _dataset(formulations_csv=rows))
    code, err = _run(["train", "--data", str(data), "--out", str(tmp_path / "m")], capsys)
    _assert_refused(code, err, "line 3:", "line 6:", "line 8:", "3 problems")


# ------------------------------------------------------------------- configuration corpus

CONFIG_CASES = {
    'epochs = "ten"': ("[train]\nepochs = \"ten\"\n", 2, "epochs", "whole number"),
    "batch_size = 0": ("[train]\n\nbatch_size = 0\n", 3, "batch_size", ">= 1"),
    "lr = nan": ("[model]\nbase_dim = 8\n[train]\nlr = nan\n", 4, "lr", "finite"),
    "lr = -1": ("[train]\nlr = -1\n", 2, "lr", "> 0"),
    "dropout = 2": ("[model]\ndropout = 2\n", 2, "dropout", "< 1"),
    "dropout = -0.1": ("[model]\ndropout = -0.1\n", 2, "dropout", ">= 0"),
    "epochs = -5": ("[train]\nepochs = -5\n", 2, "epochs", ">= 1"),
    "epochs = 1.5": ("[train]\nepochs = 1.5\n", 2, "epochs", "whole number"),
    "layer_norm = 1": ("[model]\nlayer_norm = 1\n", 2, "layer_norm", "true or false"),
    "n_heads = 0": ("# a comment\n[model]\nn_heads = 0\n", 3, "n_heads", ">= 1"),
    "amount_encoding = 3": ("[model]\namount_encoding = 3\n", 2, "amount_encoding", "string"),
    "patience = 0": ("[train]\npatience = 0\n", 2, "patience", ">= 1"),
    "seed = -1": ("[train]\nseed = -1\n", 2, "seed", ">= 0"),
    "model is a value": ("model = 3\n", 1, "model", "table"),
    "unknown key": ("[train]\nepoch = 3\n", None, "epoch", "unknown keys"),
    "unknown table": ("[trainer]\nepochs = 3\n", None, "trainer", "unknown tables"),
    "invalid TOML": ("[train\nepochs = 3\n", None, "line 1", "invalid TOML"),
    "not UTF-8": (b"[train]\nepochs = 3 # \xff\n", None, "UTF-8", "byte"),
}


@pytest.mark.parametrize("text, line, key, words", list(CONFIG_CASES.values()),
                         ids=list(CONFIG_CASES))
def test_bad_config_exits_2_naming_key_and_line(text, line, key, words, tmp_path, capsys):
    data = _write(tmp_path / "data", _dataset())
    config = tmp_path / "bad.toml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = _tree(tmp_path)
    code, err = _run(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--config",
                      str(config), "--quiet"], capsys)
    _assert_refused(code, err, "bad.toml", key, words, *([f"line {line}:"] if line else []))
    assert _tree(tmp_path) == before


# ------------------------------------------------------------------ command-line numbers

CLI_CASES = {
    "synth --formulations 0": ["synth", "--formulations", "0"],
    "synth --formulations -5": ["synth", "--formulations", "-5"],
    "synth --formulations ten": ["synth", "--formulations", "ten"],
    "synth --seed -1": ["synth", "--seed", "-1"],
    "train --epochs -1": ["train", "--data", "D", "--epochs", "-1"],
    "train --epochs 0": ["train", "--data", "D", "--epochs", "0"],
    "demo --epochs 0": ["demo", "--epochs", "0"],
    "report --max-cases 0": ["report", "--model", "M", "--data", "D", "--max-cases", "0"],
    "report --review-pages -1": ["report", "--model", "M", "--data", "D", "--review-pages",
                                 "-1"],
    "explain --target-se nan": ["explain", "--model", "M", "--data", "D", "--target-se", "nan"],
    "explain --target-se 0": ["explain", "--model", "M", "--data", "D", "--target-se", "0"],
    "explain --exact-max -1": ["explain", "--model", "M", "--data", "D", "--exact-max", "-1"],
    "represent --bootstrap 0": ["represent", "--model", "M", "--data", "D", "--bootstrap", "0"],
    "experiment cv --folds 1": ["experiment", "cv", "--data", "D", "--folds", "1"],
    "experiment cv --confidence 1": ["experiment", "cv", "--data", "D", "--confidence", "1"],
    "experiment learning-curve --fractions 0": ["experiment", "learning-curve", "--data", "D",
                                                "--fractions", "0.5", "0"],
    "experiment cv --jobs 0": ["experiment", "cv", "--data", "D", "--jobs", "0"],
}


@pytest.mark.parametrize("argv", list(CLI_CASES.values()), ids=list(CLI_CASES))
def test_bad_numbers_on_the_command_line_exit_2_before_any_work(argv, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _run([*argv, "--out", str(out)], capsys)
    option = next(a for a in reversed(argv) if a.startswith("--"))
    _assert_refused(code, err, f"argument {option}")
    assert not out.exists() and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- damaged checkpoints


def _set(name: str, change):
    """A damage: rewrite checkpoint file ``name`` by ``change(folder / name)``."""
    return name, change


def _json_edit(edit):
    def change(file: Path) -> None:
        data = json.loads(file.read_text())
        edit(data)
        file.write_text(json.dumps(data))
    return change


def _nan_weight(file: Path) -> None:
    tensors = load_file(file)
    key = sorted(tensors)[0]
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] = float("nan")
    save_file(tensors, file)


def _first_property_std_zero(data: dict) -> None:
    data["targets"][sorted(data["targets"])[0]]["std"] = 0.0


CHECKPOINT_CASES = {
    "config.json a list": (_set("config.json", lambda f: f.write_text("[1, 2]")),
                           ["config.json", "JSON object"]),
    "config.json binary": (_set("config.json", lambda f: f.write_bytes(b'{"a": "\xff\xfe"}')),
                           ["config.json, line 1", "UTF-8"]),
    "config.json pickle": (_set("config.json", lambda f: f.write_bytes(
        b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins")),
        ["config.json", "UTF-8"]),
    "config.json truncated": (_set("config.json", lambda f: f.write_text('{"mixer": {')),
                              ["config.json, line 1", "invalid JSON"]),
    "mixer is a list": (_set("config.json", _json_edit(lambda d: d.update(mixer=[1]))),
                        ["config.json", "'mixer' must be an object"]),
    "unknown mixer key": (_set("config.json", _json_edit(lambda d: d["mixer"].update(foo=1))),
                          ["config.json", "foo"]),
    "dropout 5": (_set("config.json", _json_edit(lambda d: d["mixer"].update(dropout=5))),
                  ["config.json", "mixer.dropout"]),
    "base_dim text": (_set("config.json", _json_edit(
        lambda d: d["mixer"].update(base_dim="abc"))), ["config.json", "mixer.base_dim"]),
    "epochs -1": (_set("config.json", _json_edit(lambda d: d["train"].update(epochs=-1))),
                  ["config.json", "train.epochs"]),
    "no mixer": (_set("config.json", _json_edit(lambda d: d.pop("mixer"))),
                 ["config.json", "'mixer' is missing"]),
    "unknown history key": (_set("history.json", _json_edit(lambda d: d.update(lr=[1]))),
                            ["history.json", "'lr'"]),
    "history epochs text": (_set("history.json", _json_edit(lambda d: d.update(epochs="x"))),
                            ["history.json", "'epochs'"]),
    "split train a number": (_set("split.json", _json_edit(lambda d: d.update(train=5))),
                             ["split.json", "'train'"]),
    "split overlap": (_set("split.json", _json_edit(
        lambda d: d.update(test=[*d["test"], d["train"][0]]))), ["split.json", "overlap"]),
    "split.json a string": (_set("split.json", lambda f: f.write_text('"x"')),
                            ["split.json", "JSON object"]),
    "zero target scale": (_set("scalers.json", _json_edit(_first_property_std_zero)),
                          ["scalers.json", ".std", "positive"]),
    "amount scale text": (_set("scalers.json", _json_edit(
        lambda d: d.update(amount_scale="x"))), ["scalers.json", "amount_scale"]),
    "amount scale nan": (_set("scalers.json", _json_edit(
        lambda d: d.update(amount_scale=float("nan")))), ["scalers.json", "amount_scale"]),
    "ingredients not a list": (_set("vocabularies.json", _json_edit(
        lambda d: d.update(ingredients="W"))), ["vocabularies.json", "'ingredients'"]),
    "metrics a list": (_set("metrics.json", lambda f: f.write_text("[]")),
                       ["metrics.json", "JSON object"]),
    "NaN weight": (_set("model.safetensors", _nan_weight), ["model.safetensors", "NaN"]),
    "weights not safetensors": (_set("model.safetensors", lambda f: f.write_bytes(b"\x00" * 64)),
                                ["model.safetensors", "safetensors"]),
    "weights missing": (_set("model.safetensors", lambda f: f.unlink()),
                        ["model.safetensors", "missing"]),
    "snapshots garbage": (_set("snapshots.safetensors", lambda f: f.write_bytes(b"PK\x03\x04")),
                          ["snapshots.safetensors", "safetensors"]),
    "snapshots wrong tensors": (_set("snapshots.safetensors", lambda f: save_file(
        {"epochs": torch.zeros(2)}, f)), ["snapshots.safetensors", "expected"]),
}


@pytest.mark.parametrize("damage, words", list(CHECKPOINT_CASES.values()),
                         ids=list(CHECKPOINT_CASES))
def test_a_damaged_checkpoint_exits_2_naming_file_and_key(damage, words, tiny_checkpoint,
                                                          tiny_data_dir, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model)
    name, change = damage
    change(model / name)
    out = tmp_path / "predictions.csv"
    before = _tree(tmp_path)
    code, err = _run(["predict", "--model", str(model), "--data", str(tiny_data_dir), "--out",
                      str(out), "--quiet"], capsys)
    _assert_refused(code, err, *words)
    assert _tree(tmp_path) == before


# --------------------------------------------------------------- outputs that are refused


@pytest.fixture
def valid_data(tmp_path):
    return _write(tmp_path / "data", _dataset())


def _outputs(tmp_path: Path, data: Path) -> dict[str, Path]:
    (tmp_path / "notes.txt").write_text("my notes")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    report = tmp_path / "report"
    report.mkdir()
    write_marker(report, "report")
    return {"the data folder": data, "inside the data folder": data / "model",
            "a file": tmp_path / "notes.txt", "a folder we did not write": mine,
            "a folder holding the data": tmp_path,
            "a report folder": report}


@pytest.mark.parametrize("which", ["the data folder", "inside the data folder", "a file",
                                   "a folder we did not write", "a folder holding the data",
                                   "a report folder"])
def test_train_out_that_would_destroy_something_exits_2_and_changes_nothing(
        which, valid_data, tmp_path, capsys):
    out = _outputs(tmp_path, valid_data)[which]
    before = _tree(tmp_path)
    code, err = _run(["train", "--data", str(valid_data), "--out", str(out), "--epochs", "1",
                      "--quiet"], capsys)
    _assert_refused(code, err, f"--out {out}", "nothing was written")
    assert _tree(tmp_path) == before


def test_other_commands_refuse_outputs_they_did_not_write(valid_data, tmp_path, capsys,
                                                          tiny_checkpoint):
    out = _outputs(tmp_path, valid_data)
    before = _tree(tmp_path)
    for argv in (
        ["synth", "--out", str(out["a folder we did not write"])],
        ["synth", "--out", str(out["a report folder"])],
        ["demo", "--out", str(out["a folder we did not write"])],
        ["report", "--model", str(tiny_checkpoint), "--data", str(valid_data), "--out",
         str(valid_data)],
        ["explain", "--model", str(tiny_checkpoint), "--data", str(valid_data), "--out",
         str(out["a report folder"])],
        ["represent", "--model", str(tiny_checkpoint), "--data", str(valid_data), "--out",
         str(out["a file"])],
        ["predict", "--model", str(tiny_checkpoint), "--data", str(valid_data), "--out",
         str(out["a file"])],
        ["predict", "--model", str(tiny_checkpoint), "--data", str(valid_data), "--out",
         str(valid_data / "p.csv")],
        ["experiment", "baselines", "--data", str(valid_data), "--out", str(out["a file"])],
    ):
        code, err = _run(argv, capsys)
        _assert_refused(code, err, "--out")
    assert _tree(tmp_path) == before


def test_a_second_writer_of_the_same_output_exits_2_at_once(valid_data, tmp_path, capsys):
    import fcntl

    out = tmp_path / "model"
    with open(tmp_path / ".model.lock", "w") as other:  # another command holds the output
        fcntl.flock(other, fcntl.LOCK_EX)
        code, err = _run(["train", "--data", str(valid_data), "--out", str(out)], capsys)
    _assert_refused(code, err, f"another xai command is writing {out}")
    assert not out.exists()


def test_a_bad_expert_distance_table_stops_represent_before_the_analysis(
        tiny_checkpoint, tiny_data_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    (data / "ingredient_distances.csv").write_text(
        "ingredient_a,ingredient_b,distance\nRM0001,RM0002,0.5\n\nRM0001,RM0003,far\n")
    code, err = _run(["represent", "--model", str(tiny_checkpoint), "--data", str(data),
                      "--out", str(tmp_path / "out"), "--permutations", "1"], capsys)
    _assert_refused(code, err, "ingredient_distances.csv, line 4", "'far'")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------- predict's skipped pairs


def test_predict_lists_what_it_skips_and_strict_refuses(tiny_checkpoint, tiny_data_dir,
                                                        tmp_path, capsys):
    data = tmp_path / "data"
    formulations = pd.read_csv(tiny_data_dir / "formulations.csv", dtype=str)
    measurements = pd.read_csv(tiny_data_dir / "measurements.csv", dtype=str)
    first = formulations["formulation_id"].iloc[0]
    formulations.loc[0, "ingredient"] = "NEVER-SEEN"
    measurements.loc[len(measurements)] = [measurements["formulation_id"].iloc[-1], "colour",
                                           "1"]
    data.mkdir()
    formulations.to_csv(data / "formulations.csv", index=False)
    measurements.to_csv(data / "measurements.csv", index=False)
    n_first = int((measurements.drop_duplicates(["formulation_id", "property"])
                   ["formulation_id"] == first).sum())
    out = tmp_path / "p.csv"
    code, err = _run(["predict", "--model", str(tiny_checkpoint), "--data", str(data), "--out",
                      str(out), "--quiet"], capsys)
    assert code == 0, err
    assert f"skipped {n_first + 1} of" in err
    assert "'colour' is not one the model predicts" in err and "'NEVER-SEEN'" in err
    assert first not in set(pd.read_csv(out, dtype=str)["formulation_id"])
    out.unlink()
    code, err = _run(["predict", "--model", str(tiny_checkpoint), "--data", str(data), "--out",
                      str(out), "--strict"], capsys)
    _assert_refused(code, err, "--strict")
    assert not out.exists()


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
    code, err = _run(["train", "--data", str(data), "--out", str(tmp_path / "model"),
                      "--config", str(config), "--quiet"], capsys)
    assert code == 0, err
    code, err = _run(["predict", "--model", str(tmp_path / "model"), "--data", str(data),
                      "--out", str(tmp_path / "p.csv"), "--quiet"], capsys)
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "p.csv", dtype=str)
    assert list(predictions["formulation_id"]) == ["007", "7", "8", "9", "010"]
    # the same command again replaces its own output
    code, err = _run(["train", "--data", str(data), "--out", str(tmp_path / "model"),
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
    code, err = _run(["report", "--model", str(tmp_path / "model"), "--data", str(data),
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
    before = _tree(tmp_path)
    code, err = _run(["review", "export", "--report", str(report), "--out",
                      str(tmp_path / "sheet.csv")], capsys)
    _assert_refused(code, err, "results.json", words)
    assert _tree(tmp_path) == before


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
    before = _tree(tmp_path)
    code, err = _run(["review", "import", str(sheet), "--report", str(report)], capsys)
    _assert_refused(code, err, "sheet.csv", where, words)
    assert _tree(tmp_path) == before
