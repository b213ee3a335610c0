"""Predictions and attributions in chunks on loky workers and on a two-worker Dask cluster equal
one process's, to the bit."""

import numpy as np
import pandas as pd
import pytest
import torch

from models.checkpoint import save_model
from xai.absence import Absence
from xai.cases import make_cases
from xai.runs.distributed import (
    ModelFiles,
    Partition,
    PartitionedAttributions,
    concat_attributions,
    predict_partitioned,
    slice_cases,
)
from xai.runs.settings import ExplainSettings

distributed = pytest.importorskip("distributed")

# exact up to 6 players, sampled beyond: both Shapley paths cross the chunk boundaries
CONFIG = ExplainSettings(absence=Absence.removed(), seed=3, shapley_exact_max=6,
                         shapley_permutations=8, ig_max_steps=32)


@pytest.fixture(scope="module")
def model_files(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("distributed") / "model"
    save_model(tiny_model, folder)
    return ModelFiles.read(folder)


@pytest.fixture(scope="module")
def cases(tiny_model, tiny_dataset):
    return make_cases(tiny_model, tiny_dataset, list(tiny_model.split.test)[:12],
                      absence=CONFIG.absence)


@pytest.fixture(autouse=True)
def one_thread():
    """This process computes the expected values on the workers' one thread: results are
    identical to the bit only with equal thread counts (a command run in-process earlier may
    have set two)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        yield c.scheduler_address


def test_model_files_load_the_same_model(tiny_model, model_files):
    loaded = model_files.load()
    assert loaded.properties == tiny_model.properties
    for name, tensor in tiny_model.mixer.state_dict().items():
        assert np.array_equal(tensor.numpy(), loaded.mixer.state_dict()[name].numpy())


def test_model_files_refuse_names_that_leave_the_folder():
    with pytest.raises(ValueError, match="leaves its folder"):
        ModelFiles({"../evil.json": b"{}"}).load()


def test_predict_in_chunks_equals_one_process(tiny_model, tiny_dataset, model_files, cluster,
                                              monkeypatch):
    from models.calibration import predict_table

    recipes = tiny_dataset.recipes()
    rows = tiny_dataset.measurements[["formulation_id", "property"]].drop_duplicates()
    expected = predict_table(tiny_model, recipes, rows)
    np.testing.assert_array_equal(
        expected["prediction"],
        tiny_model.predict([recipes[f] for f in rows["formulation_id"]], rows["property"]))
    # several chunks (6 forward calls of the tiny set's rows; one length fills two calls)
    from models.training import forward_calls
    lengths = torch.as_tensor([len(recipes[f][0]) for f in rows["formulation_id"]])
    assert len(forward_calls(lengths)) >= 4
    for partition in (Partition(jobs=2, threads=1),
                      Partition(jobs=2, scheduler=cluster, threads=1)):
        got = predict_partitioned(model_files, recipes, rows, partition)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    empty = predict_partitioned(model_files, recipes, rows.iloc[:0], Partition(jobs=2))
    assert list(empty.columns) == list(expected.columns) and len(empty) == 0


def test_intervals_and_flags_in_chunks_equal_one_process(tiny_model, tiny_dataset):
    """A calibrated model with an applicability domain: lower, upper and flags too."""
    import copy

    from models.calibration import attach_trust, predict_table, split_calibration

    model = copy.deepcopy(tiny_model)
    conformal, table = split_calibration(model, tiny_dataset)
    attach_trust(model, tiny_dataset, model.split.train, conformal=conformal,
                 coverage_table_=table)
    recipes = tiny_dataset.recipes()
    rows = tiny_dataset.measurements[["formulation_id", "property"]].drop_duplicates()
    expected = predict_table(model, recipes, rows, coverage=0.8)
    assert {"lower", "upper", "flags"} <= set(expected.columns)
    got = predict_partitioned(ModelFiles.of(model), recipes, rows, Partition(jobs=2, threads=1),
                              coverage=0.8)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("method", ["shapley", "ig"])
def test_attributions_in_chunks_equal_one_process(tiny_model, cases, model_files, cluster,
                                                  method, monkeypatch):
    import xai.runs.distributed as d
    from xai.runs.explain import method_runners

    monkeypatch.setattr(d, "CHUNK_CASES", 10)  # several chunks of the tiny set's cases
    assert len(cases) > 20
    expected = PartitionedAttributions(tiny_model, Partition())(method, cases, CONFIG)
    if method == "shapley":  # both paths are exercised
        assert expected.method == "shapley"
    # one call over every case differs from the chunks only in float32 rounding
    whole = method_runners(CONFIG)[method](tiny_model.mixer, cases, False)
    np.testing.assert_allclose(expected.values, whole.values, rtol=0, atol=1e-6)
    for partition in (Partition(jobs=1), Partition(jobs=2, threads=1),
                      Partition(jobs=2, scheduler=cluster, threads=1)):
        got = PartitionedAttributions(model_files, partition)(method, cases, CONFIG)
        assert got.values.shape == expected.values.shape
        assert got.method == expected.method
        assert got.formulation_ids == expected.formulation_ids
        assert got.properties == expected.properties
        np.testing.assert_array_equal(got.values, expected.values)
        np.testing.assert_array_equal(got.prediction, expected.prediction)
        np.testing.assert_array_equal(got.baseline, expected.baseline)
        for name, value in expected.diagnostics().items():
            np.testing.assert_array_equal(getattr(got, name), value)


def test_reference_methods_are_left_to_this_process(cases, model_files):
    assert PartitionedAttributions(model_files, Partition(jobs=2))(
        "shap-exact", cases, CONFIG) is None


def test_concat_pads_chunks_to_the_full_width(tiny_model, cases):
    from xai.runs.explain import method_runners

    whole = method_runners(CONFIG)["ig"](tiny_model.mixer, cases, False)
    parts = [whole[:5], whole[5:]]  # indexing trims each part to its own longest recipe
    joined = concat_attributions(parts, width=whole.values.shape[1])
    np.testing.assert_array_equal(joined.values, whole.values)
    assert slice_cases(cases, 2, 5).ids.shape[1] == cases.ids.shape[1]
