"""``xai train`` picks the robust small-data path by itself and says which it took."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xai.cli import main


def test_a_small_dataset_gets_an_ensemble_without_flags(tmp_path, capsys, tiny_toml):
    data, model = tmp_path / "data", tmp_path / "model"
    (tmp_path / "tiny.toml").write_text(tiny_toml(seed=0))
    assert main(["synth", "--regime", "small", "--formulations", "90", "--out", str(data),
                 "--quiet"]) == 0
    assert (data / "oracle.json").is_file()
    assert main(["train", "--data", str(data), "--out", str(model), "--config",
                 str(tmp_path / "tiny.toml"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "training: 5-member cross-fitted ensemble, refit on all data" in out
    assert "defaults for 90 recipes, under 1000" in out
    assert "out-of-fold" in out
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["plan"]["ensemble"] == 5
    assert len(list((model / "members").iterdir())) == 5
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model), "--data", str(data), "--out", str(pred),
                 "--quiet"]) == 0
    frame = pd.read_csv(pred)
    assert list(frame.columns) == ["formulation_id", "property", "prediction", "spread",
                                   "lower", "upper", "flags"]
    assert (frame["spread"] > 0).all()
    assert (frame["lower"] <= frame["prediction"]).all()
    assert (frame["prediction"] <= frame["upper"]).all()
    assert metrics["conformal"]["method"] == "cv"
    assert 0 < metrics["conformal"]["overall"]["coverage"] <= 1
    # a single model can still be asked for
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "single"), "--config",
                 str(tmp_path / "tiny.toml"), "--ensemble", "1", "--no-refit", "--quiet"]) == 0
    assert "single model on a train / validation / test split" in capsys.readouterr().out
    assert not (tmp_path / "single" / "members").exists()


def test_an_unseen_ingredient_with_descriptors_is_predicted_and_flagged(tmp_path, capsys,
                                                                       unseen_setup):
    data, model, new = unseen_setup
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model), "--data", str(new), "--out", str(out),
                 "--quiet"]) == 0
    frame = pd.read_csv(out, keep_default_na=False)
    assert len(frame) == 4  # two recipes x two properties
    assert frame.loc[frame["formulation_id"] == "N1", "flags"].str.contains("unseen:NEW").all()
    # the Python API takes the same description as a table and gives the same rows
    import xai
    from models.checkpoint import load_model
    loaded = load_model(model)
    given = {"N1": {"C000": 70.0, "NEW": 30.0}, "N2": {"C000": 100.0}}
    api = xai.predict(loaded, given, descriptors=pd.read_csv(new / "ingredients.csv"))
    pd.testing.assert_frame_equal(api.drop(columns="flags"), frame.drop(columns="flags"),
                                  check_dtype=False, rtol=1e-5)
    assert api["flags"].tolist() == frame["flags"].tolist()
    with pytest.raises(ValueError, match="pass descriptors="):
        xai.predict(loaded, given)
    assert main(["explain", "--model", str(model), "--data", str(new), "--out",
                 str(tmp_path / "ex"), "--quiet"]) == 0
    explained = pd.read_csv(tmp_path / "ex" / "attributions.csv", keep_default_na=False)
    assert "NEW" in set(explained["ingredient"])
    # measured new recipes with the described ingredient: represent and report take them too
    props = json.loads((model / "vocabularies.json").read_text())["properties"]
    pd.DataFrame({"formulation_id": ["N1", "N2"] * len(props),
                  "property": [p for p in props for _ in range(2)],
                  "value": [1.0, 2.0] * len(props)}).to_csv(new / "measurements.csv",
                                                            index=False)
    assert main(["represent", "--model", str(model), "--data", str(new), "--out",
                 str(tmp_path / "rep"), "--permutations", "9", "--bootstrap", "9",
                 "--quiet"]) == 0
    assert "NEW" in json.loads((tmp_path / "rep" / "represent.json").read_text())[
        "ingredients"]["geometry"]["names"]
    assert main(["report", "--model", str(model), "--data", str(new), "--out",
                 str(tmp_path / "report"), "--quick", "--reference-cases", "0",
                 "--quiet"]) == 0
    assert "NEW" in (tmp_path / "report" / "index.html").read_text()
    pages = {p.name: p.read_text() for p in (tmp_path / "report" / "review").glob("*.html")}
    n1 = next(text for name, text in pages.items() if "N1" in name)
    assert "90% prediction interval" in n1 and "unseen:NEW" in n1
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    entry = next(c for c in results["review"]["cases"] if c["formulation_id"] == "N1")
    for prop in entry["properties"]:
        interval = prop["interval"]
        assert interval["lower"] < interval["around"] < interval["upper"]
        assert "unseen:NEW" in prop["applicability"]
    (new / "measurements.csv").unlink()
    # without descriptors its pairs are skipped and listed, and --strict refuses them
    (new / "ingredients.csv").unlink()
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", str(new), "--out", str(out)]) == 0
    assert "ingredient 'NEW' was never seen in training" in capsys.readouterr().err
    assert set(pd.read_csv(out)["formulation_id"].astype(str)) == {"N2"}  # N1 holds NEW
    assert main(["predict", "--model", str(model), "--data", str(new), "--out", str(out),
                 "--strict"]) == 2
    assert "ingredient 'NEW' was never seen in training" in capsys.readouterr().err
