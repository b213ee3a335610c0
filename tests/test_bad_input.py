"""A generated corpus of bad input, run through the command line in-process: every case exits 2
with a message naming the file and line (data), the file and key (checkpoint) or the key and
line (configuration), without a traceback and without writing any output. Valid edge cases
(BOM, CRLF, quoted and multi-line cells, emoji, 10,000-character names, ids 007 and 7) still
load and train.
"""



import pytest
from bad_input_corpus import (  # tests/support/bad_input_corpus.py
    CORPUS,
    ROWS,
    assert_refused,
    cell_cases,
    dataset_files,
    run_cli,
    tree,
    write_files,
)

# ------------------------------------------------------------------------ data corpus


def test_the_corpus_is_large_and_every_layout_moves_the_line():
    assert len(CORPUS) >= 150
    lines = {c.line for c in cell_cases() if c.name.startswith("formulations.csv:amount='abc'")}
    assert len(lines) >= 3  # the layouts put the same row on different editor lines


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_bad_data_exits_2_naming_file_and_line(case, tmp_path, capsys):
    data = write_files(tmp_path / "data", case.files)
    before = tree(tmp_path)
    code, err = run_cli(["train", "--data", str(data), "--out", str(tmp_path / "model"),
                      "--quiet"], capsys)
    where = f"{case.file}, line {case.line}:" if case.line else f"{case.file}:"
    assert_refused(code, err, where, case.words)
    assert "required file is missing" not in err  # no second, false message
    assert tree(tmp_path) == before  # no output, no lock, no temporary folder


def test_messages_name_every_bad_line_at_once(tmp_path, capsys):
    rows = [list(r) for r in ROWS["formulations.csv"]]
    rows[1][2], rows[4][2], rows[6][2] = "x", "1e309", "-3"
    data = write_files(tmp_path / "data", dataset_files(formulations_csv=rows))
    code, err = run_cli(["train", "--data", str(data), "--out", str(tmp_path / "m")], capsys)
    assert_refused(code, err, "line 3:", "line 6:", "line 8:", "3 problems")


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
    data = write_files(tmp_path / "data", dataset_files())
    config = tmp_path / "bad.toml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = tree(tmp_path)
    code, err = run_cli(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--config",
                      str(config), "--quiet"], capsys)
    assert_refused(code, err, "bad.toml", key, words, *([f"line {line}:"] if line else []))
    assert tree(tmp_path) == before


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
    code, err = run_cli([*argv, "--out", str(out)], capsys)
    option = next(a for a in reversed(argv) if a.startswith("--"))
    assert_refused(code, err, f"argument {option}")
    assert not out.exists() and list(tmp_path.iterdir()) == []
