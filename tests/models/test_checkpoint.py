import dataclasses
import json

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from models.checkpoint import CheckpointError, load_model, save_model
from models.io import strict_json
from models.mixer import build_mixer


def test_round_trip_predicts_exactly_the_same(tiny_model, tiny_dataset, tmp_path):
    save_model(tiny_model, tmp_path / "ckpt")
    loaded = load_model(tmp_path / "ckpt")
    recipes = tiny_dataset.recipes()
    fids = tiny_dataset.formulation_ids[:25]
    props = [tiny_dataset.property_names[i % 3] for i in range(25)]
    before = tiny_model.predict([recipes[f] for f in fids], props)
    after = loaded.predict([recipes[f] for f in fids], props)
    np.testing.assert_array_equal(before, after)
    assert loaded.encoder == tiny_model.encoder
    assert loaded.split == tiny_model.split
    assert loaded.metrics == strict_json(tiny_model.metrics)  # NaN is written as null
    assert loaded.history.best_epoch == tiny_model.history.best_epoch


def test_files_are_safetensors_and_json(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "ckpt")
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "vocabularies.json", "scalers.json",
            "metrics.json", "history.json", "split.json"} <= names
    assert not any(n.endswith((".pt", ".pkl", ".bin")) for n in names)


def test_wrong_shapes_are_rejected_with_the_tensor_named(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "ckpt")
    weights = load_file(folder / "model.safetensors")
    weights["head.0.weight"] = weights["head.0.weight"][:, :3].contiguous()
    save_file(weights, folder / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"head\.0\.weight: expected"):
        load_model(folder)


def test_wrong_format_version_is_rejected(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "ckpt")
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_model(folder)


def test_a_pickle_is_never_loaded(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "ckpt")
    (folder / "model.safetensors").write_bytes(b"\x80\x04\x95not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_model(folder)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        load_model(tmp_path / "nothing")


def test_saving_over_an_existing_checkpoint_replaces_it_whole(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "ckpt")
    (folder / "stale.txt").write_text("old")
    save_model(tiny_model, folder)
    assert not (folder / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_a_checkpoint_from_before_the_dose_feature_loads_without_it(tiny_model, tiny_dataset,
                                                                     tmp_path):
    config = dataclasses.replace(tiny_model.mixer.config, log_dose_floor=0.0)
    old = dataclasses.replace(tiny_model, mixer=build_mixer(config, seed=1).eval())
    folder = save_model(old, tmp_path / "ckpt")
    written = json.loads((folder / "config.json").read_text())
    del written["mixer"]["log_dose_floor"]
    (folder / "config.json").write_text(json.dumps(written))
    loaded = load_model(folder)
    assert loaded.mixer.config.log_dose_floor == 0.0
    recipes = tiny_dataset.recipes()
    fids = tiny_dataset.formulation_ids[:5]
    props = [tiny_dataset.property_names[0]] * 5
    np.testing.assert_array_equal(old.predict([recipes[f] for f in fids], props),
                                  loaded.predict([recipes[f] for f in fids], props))
