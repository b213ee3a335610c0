"""``xai explain`` end to end on a tiny synthetic dataset and a briefly trained Mixer."""

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
from xai.commands import explain as explain_command
from xai.commands.errors import UsageError

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}
COLUMNS = ["formulation_id", "property", "ingredient", "amount", "method", "attribution",
           "std_error", "prediction", "baseline_prediction", "completeness_error"]


def run_explain(argv):
    """Parse ``argv`` exactly as ``xai explain`` does and run the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true")
    parser = argparse.ArgumentParser(prog="xai")
    explain_command.add_parser(parser.add_subparsers(dest="command"), common)
    args = parser.parse_args(["explain", *map(str, argv)])
    return args.run(args)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    write_dataset(generate(seed=0, n_formulations=60), root / "data")
    dataset = load_dataset(root / "data")
    model = fit_model(dataset, mixer_options=TINY, train_config=TrainConfig(epochs=2, seed=0),
                      progress=False)
    save_model(model, root / "model")
    return root, dataset, model


def test_writes_both_files_with_the_documented_columns(trained, capsys):
    root, dataset, model = trained
    out = root / "out"
    # the smallest test recipes keep exact Shapley enumeration quick
    sizes = {f: len(dataset.recipe(f)[0]) for f in model.split.test}
    chosen = sorted(sizes, key=sizes.get)[:4]
    assert run_explain(["--model", root / "model", "--data", root / "data", "--out", out,
                        "--formulations", *chosen, "--exact-max", 14, "--quiet"]) == 0
    frame = pd.read_csv(out / "attributions.csv")
    assert list(frame.columns) == COLUMNS
    assert set(frame["method"]) == {"ig", "shapley_exact"}
    assert set(frame["formulation_id"].astype(str)) == set(chosen)
    measured = dataset.measurements[dataset.measurements["formulation_id"].isin(chosen)]
    pairs = measured[["formulation_id", "property"]].drop_duplicates()
    assert len(frame) == 2 * sum(sizes[f] for f in pairs["formulation_id"])
    # exact Shapley values are complete; IG converged to its tolerance
    shapley = frame[frame["method"] == "shapley_exact"]
    assert np.abs(shapley["completeness_error"]).max() < 1e-4
    per_case = frame.groupby(["formulation_id", "property", "method"]).agg(
        total=("attribution", "sum"), prediction=("prediction", "first"),
        baseline=("baseline_prediction", "first"))
    np.testing.assert_allclose(per_case["total"], per_case["prediction"] - per_case["baseline"],
                               atol=1e-3)
    summary = json.loads((out / "explain.json").read_text())
    assert set(summary) >= {"settings", "attention", "attributions", "quality", "global",
                            "truth", "dependence", "interactions"}
    assert summary["settings"]["n_cases"] == len(pairs)
    assert summary["settings"]["absence"] == "removed"
    assert summary["settings"]["shapley_exact_max"] == 14
    assert set(summary["quality"]["sanity_check"]) == {"ig", "shapley"}
    assert summary["quality"]["agreement"]["methods"] == ["ig", "shapley_exact"]
    assert summary["attributions"]["ig"]["converged"]["share"] == 1.0
    truth = summary["truth"]
    assert truth is not None and set(truth["attribution"]) == {"ig", "shapley_exact"}
    assert truth["settings"]["n_enumerated"] > 0
    printed = capsys.readouterr().out
    assert "ground truth" in printed and "completeness" in printed


def test_balance_baseline_one_method_and_chosen_property(trained):
    root, dataset, model = trained
    out = root / "balance"
    chosen = sorted(model.split.test)[:3]
    prop = sorted(model.properties)[0]
    assert run_explain(["--model", root / "model", "--data", root / "data", "--out", out,
                        "--formulations", *chosen, "--property", prop, "--method", "ig",
                        "--absence", "balance", "--quiet"]) == 0
    frame = pd.read_csv(out / "attributions.csv")
    water = dataset.truth["balance_ingredient"]
    assert set(frame["property"]) == {prop} and set(frame["method"]) == {"ig"}
    assert frame.loc[frame["ingredient"] == water, "attribution"].isna().all()
    assert frame.loc[frame["ingredient"] != water, "attribution"].notna().all()
    summary = json.loads((out / "explain.json").read_text())
    assert summary["settings"]["balance_ingredient"] == water
    assert summary["quality"]["agreement"] is None


def test_sampling_to_a_target_standard_error(trained):
    root, _, model = trained
    out = root / "target"
    chosen = sorted(model.split.test)[:4]
    assert run_explain(["--model", root / "model", "--data", root / "data", "--out", out,
                        "--formulations", *chosen, "--method", "shapley", "--exact-max", 2,
                        "--permutations", 512, "--target-se", 0.05, "--quiet"]) == 0
    frame = pd.read_csv(out / "attributions.csv")
    summary = json.loads((out / "explain.json").read_text())
    assert summary["settings"]["shapley_target_se"] == 0.05
    met = []
    for _, case in frame.groupby(["formulation_id", "property"]):
        spread = abs(case["prediction"].iloc[0] - case["baseline_prediction"].iloc[0])
        se = case["std_error"].to_numpy()
        if len(case) > 2:  # more players than --exact-max: sampled
            assert np.isfinite(se).all()
            met.append(bool(np.all(se <= 0.05 * spread)))
    # a case stops at the target or at --permutations (cases with a tiny spread may need more)
    assert len(met) > 0 and np.mean(met) >= 0.8
    # stopping early draws fewer permutations than always drawing --permutations
    fixed = root / "fixed"
    assert run_explain(["--model", root / "model", "--data", root / "data", "--out", fixed,
                        "--formulations", *chosen, "--method", "shapley", "--exact-max", 2,
                        "--permutations", 512, "--quiet"]) == 0
    always = pd.read_csv(fixed / "attributions.csv")
    assert frame["std_error"].mean() > always["std_error"].mean()


def test_bad_input_is_a_usage_error(trained, tmp_path):
    root, _, _ = trained
    base = ["--model", root / "model", "--data", root / "data", "--out", tmp_path / "x"]
    with pytest.raises(UsageError, match="unknown formulations"):
        run_explain([*base, "--formulations", "no-such-recipe"])
    with pytest.raises(UsageError, match="does not predict"):
        run_explain([*base, "--property", "colour"])
    with pytest.raises(UsageError, match="permutations"):
        run_explain([*base, "--permutations", 1])
    with pytest.raises(SystemExit):  # argparse refuses it: exit 2 with the usage line
        run_explain([*base, "--target-se", 0])
    with pytest.raises(UsageError, match="not in"):
        run_explain([*base, "--balance", "RM0000", "--absence", "balance"])
    assert not (tmp_path / "x").exists()


def test_baseline_is_a_deprecated_spelling_of_absence(trained, capsys):
    root, _, model = trained
    chosen = sorted(model.split.test)[:2]
    base = ["--model", root / "model", "--data", root / "data", "--formulations", *chosen,
            "--method", "ig", "--quiet"]
    assert run_explain([*base, "--out", root / "old", "--baseline", "zero"]) == 0
    assert "--baseline is deprecated" in capsys.readouterr().err
    assert run_explain([*base, "--out", root / "new", "--absence", "zero"]) == 0
    assert "deprecated" not in capsys.readouterr().err
    old = json.loads((root / "old" / "explain.json").read_text())
    assert old["settings"]["absence"] == "zero"
    pd.testing.assert_frame_equal(pd.read_csv(root / "old" / "attributions.csv"),
                                  pd.read_csv(root / "new" / "attributions.csv"))


@pytest.mark.parametrize(("method", "builtin", "name", "atol"), [
    ("shap-exact", "shapley", "shap_exact", 1e-5),
    ("shap-permutation", "shapley", "shap_permutation", 0.2),  # sampled: share of the largest
    ("captum-ig", "ig", "captum_ig", 1e-3),
])
def test_reference_methods_give_the_builtin_outputs(trained, method, builtin, name, atol):
    """shap's and captum's implementations as ``--method``: the same files, and on small
    recipes the values of the built-in exact Shapley values / converged IG."""
    root, dataset, model = trained
    sizes = {f: len(dataset.recipe(f)[0]) for f in model.split.test}
    chosen = sorted(sizes, key=sizes.get)[:2]
    prop = sorted(model.properties)[0]
    base = ["--model", root / "model", "--data", root / "data", "--formulations", *chosen,
            "--property", prop, "--absence", "balance", "--exact-max", 14, "--quiet"]
    assert run_explain([*base, "--out", root / method, "--method", method]) == 0
    assert run_explain([*base, "--out", root / f"{method}-ours", "--method", builtin]) == 0
    theirs = pd.read_csv(root / method / "attributions.csv")
    ours = pd.read_csv(root / f"{method}-ours" / "attributions.csv")
    assert list(theirs.columns) == COLUMNS and set(theirs["method"]) == {name}
    assert len(theirs) == len(ours)
    scale = np.nanmax(np.abs(ours["attribution"])) if method == "shap-permutation" else 1.0
    np.testing.assert_allclose(theirs["attribution"], ours["attribution"], atol=atol * scale)
    np.testing.assert_allclose(theirs["prediction"], ours["prediction"], atol=1e-5)
    summary = json.loads((root / method / "explain.json").read_text())
    assert summary["attributions"][method]["method"] == name
    assert summary["attributions"][method]["absence"] == "balance"
    assert set(summary["quality"]["sanity_check"]) == {method}
