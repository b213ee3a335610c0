"""``xai represent`` end to end on a tiny synthetic dataset and a briefly trained model."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from models.checkpoint import save_model
from models.data import load_dataset
from models.pipeline import fit_model
from models.synth import generate, write_dataset
from models.training import TrainConfig
from xai.commands import represent as command

HYPOTHESES = {
    "same_group_ingredients_closer", "same_group_properties_closer",
    "expert_swaps_preserve_predictions", "property_vector_helps_low_data",
    "property_token_reads_recipe", "trend_monotonic", "shear_thinning_slope",
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("represent")
    write_dataset(generate(seed=0, n_formulations=150), root / "data")
    model = fit_model(load_dataset(root / "data"),
                      mixer_options={"base_dim": 8, "mixer_dim": 16, "n_layers": 1,
                                     "n_heads": 2, "head_hidden": 16},
                      train_config=TrainConfig(epochs=4, snapshot_every=2, seed=0),
                      progress=False)
    save_model(model, root / "model")
    return root


def parse(argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true")
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"), common)
    return parser.parse_args(["represent", *argv])


FAST = ["--layout", "pca", "--permutations", "49", "--bootstrap", "99", "--random-donors", "3",
        "--quiet"]


def test_represent_writes_its_files(trained, tmp_path, capsys):
    out = tmp_path / "rep"
    args = parse(["--model", str(trained / "model"), "--data", str(trained / "data"),
                  "--out", str(out), *FAST])
    assert args.run(args) == 0
    printed = capsys.readouterr().out
    assert "family recovery ARI:" in printed
    for name in HYPOTHESES:
        assert name in printed

    result = json.loads((out / "represent.json").read_text())
    assert {v["name"] for v in result["hypotheses"]} == HYPOTHESES
    for v in result["hypotheses"]:
        assert v["verdict"] in ("supported", "not supported", "inconclusive")
        if v["p_value"] is not None:
            assert v["adjusted_p"] >= v["p_value"]
    truth = result["truth"]
    assert -1 <= truth["family_recovery"]["ari"] <= 1
    assert truth["property_group_recovery"]["n"] == 12
    assert "spearman" in truth["substitution"]
    assert result["dynamics"]["available"] and result["dynamics"]["epochs"] == [0, 2]
    assert result["substitution"]["swaps"]
    assert result["properties"]["geometry"]["layout"]["method"] == "pca"
    assert result["settings"]["n_permutations"] == 49

    names = result["ingredients"]["geometry"]["names"]
    for prefix, expected in (("ingredient", names),
                             ("property", result["properties"]["geometry"]["names"])):
        for metric in ("l2", "cosine"):
            frame = pd.read_csv(out / f"{prefix}_{metric}.csv", index_col=0)
            assert list(frame.columns) == list(expected) == list(frame.index)
            d = frame.to_numpy()
            assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    assert not list(tmp_path.glob(".rep.tmp-*"))


def test_represent_rejects_bad_input(trained, tmp_path):
    with pytest.raises(SystemExit):  # argparse refuses it: exit 2 with the usage line
        parse(["--model", str(trained / "model"), "--data", str(trained / "data"),
               "--out", str(tmp_path / "x"), "--permutations", "0"])
    # a folder the model never saw is analysed whole (tests/xai/commands/test_new_recipes.py)
    assert not (tmp_path / "x").exists()
