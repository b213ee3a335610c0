"""Damaged checkpoints exit 2 naming the file and key; outputs a command did not write (or
that would destroy its input) are refused before any work; predict lists the pairs it skips."""


import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from bad_input_corpus import (  # tests/support/bad_input_corpus.py
    assert_refused,
    dataset_files,
    run_cli,
    tree,
    write_files,
)
from safetensors.torch import load_file, save_file

from models.outputs import write_marker

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
    before = tree(tmp_path)
    code, err = run_cli(["predict", "--model", str(model), "--data", str(tiny_data_dir), "--out",
                      str(out), "--quiet"], capsys)
    assert_refused(code, err, *words)
    assert tree(tmp_path) == before


# --------------------------------------------------------------- outputs that are refused


@pytest.fixture
def valid_data(tmp_path):
    return write_files(tmp_path / "data", dataset_files())


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
    before = tree(tmp_path)
    code, err = run_cli(["train", "--data", str(valid_data), "--out", str(out), "--epochs", "1",
                      "--quiet"], capsys)
    assert_refused(code, err, f"--out {out}", "nothing was written")
    assert tree(tmp_path) == before


def test_other_commands_refuse_outputs_they_did_not_write(valid_data, tmp_path, capsys,
                                                          tiny_checkpoint):
    out = _outputs(tmp_path, valid_data)
    before = tree(tmp_path)
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
        code, err = run_cli(argv, capsys)
        assert_refused(code, err, "--out")
    assert tree(tmp_path) == before


def test_a_second_writer_of_the_same_output_exits_2_at_once(valid_data, tmp_path, capsys):
    import fcntl

    out = tmp_path / "model"
    with open(tmp_path / ".model.lock", "w") as other:  # another command holds the output
        fcntl.flock(other, fcntl.LOCK_EX)
        code, err = run_cli(["train", "--data", str(valid_data), "--out", str(out)], capsys)
    assert_refused(code, err, f"another xai command is writing {out}")
    assert not out.exists()


def test_a_bad_expert_distance_table_stops_represent_before_the_analysis(
        tiny_checkpoint, tiny_data_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    (data / "ingredient_distances.csv").write_text(
        "ingredient_a,ingredient_b,distance\nRM0001,RM0002,0.5\n\nRM0001,RM0003,far\n")
    code, err = run_cli(["represent", "--model", str(tiny_checkpoint), "--data", str(data),
                      "--out", str(tmp_path / "out"), "--permutations", "1"], capsys)
    assert_refused(code, err, "ingredient_distances.csv, line 4", "'far'")
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
    code, err = run_cli(["predict", "--model", str(tiny_checkpoint), "--data", str(data), "--out",
                      str(out), "--quiet"], capsys)
    assert code == 0, err
    assert f"skipped {n_first + 1} of" in err
    assert "'colour' is not one the model predicts" in err and "'NEVER-SEEN'" in err
    assert first not in set(pd.read_csv(out, dtype=str)["formulation_id"])
    out.unlink()
    code, err = run_cli(["predict", "--model", str(tiny_checkpoint), "--data", str(data), "--out",
                      str(out), "--strict"], capsys)
    assert_refused(code, err, "--strict")
    assert not out.exists()
