"""``xai predict`` and ``xai explain`` with ``--jobs 2`` and on a two-worker Dask cluster write
exactly what one process writes."""

import argparse
import json

import pandas as pd
import pytest

from models.checkpoint import save_model
from models.data import load_dataset
from models.pipeline import fit_model
from models.synth import generate, write_dataset
from models.training import TrainConfig
from xai.commands import explain as explain_command
from xai.commands import predict as predict_command

distributed = pytest.importorskip("distributed")

TINY = {"base_dim": 8, "mixer_dim": 16, "n_layers": 1, "n_heads": 2, "head_hidden": 16}


def run(command, argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true")
    parser = argparse.ArgumentParser(prog="xai")
    command.add_parser(parser.add_subparsers(dest="command"), common)
    args = parser.parse_args([command.__name__.rsplit(".", 1)[1], *map(str, argv)])
    return args.run(args)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("partition")
    write_dataset(generate(seed=1, n_formulations=60), root / "data")
    dataset = load_dataset(root / "data")
    model = fit_model(dataset, mixer_options=TINY, train_config=TrainConfig(epochs=2, seed=0),
                      progress=False)
    save_model(model, root / "model")
    return root, dataset, model


@pytest.fixture(scope="module")
def scheduler():
    # one thread per worker whatever an earlier command left in this process's environment
    one = dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), "1")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  env=one) as cluster:
        yield cluster.scheduler_address


def test_predict_with_jobs_and_scheduler_writes_the_same_file(trained, scheduler):
    root, _, _ = trained
    base = ["--model", root / "model", "--data", root / "data", "--quiet"]
    outputs = {}
    for name, extra in (("one", []), ("jobs", ["--jobs", 2]),
                        ("dask", ["--scheduler", scheduler, "--jobs", 2])):
        assert run(predict_command, [*base, "--out", root / f"predict-{name}.csv", *extra]) == 0
        outputs[name] = (root / f"predict-{name}.csv").read_text()
    assert len(outputs["one"].splitlines()) > 100
    assert outputs["jobs"] == outputs["one"]
    assert outputs["dask"] == outputs["one"]


@pytest.fixture
def one_thread():
    """This process computes on one thread, torch and BLAS, as each worker does (bit-identical
    sums need the same thread counts; an earlier test's ``main()`` may have left more)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):  # BLAS too: the KernelSHAP solves run in numpy
        yield
    torch.set_num_threads(before)


def test_explain_with_jobs_and_scheduler_writes_the_same_attributions(trained, scheduler,
                                                                      monkeypatch, one_thread):
    import xai.runs.distributed as d

    monkeypatch.setattr(d, "CHUNK_CASES", 7)  # several chunks of the cases
    root, dataset, model = trained
    # the test split's cases, sampled beyond 6 players so per-case seeds matter
    base = ["--model", root / "model", "--data", root / "data", "--exact-max", 6,
            "--permutations", 8, "--quiet"]
    frames, summaries = {}, {}
    for name, extra in (("one", []), ("jobs", ["--jobs", 2]),
                        ("dask", ["--scheduler", scheduler, "--jobs", 2])):
        out = root / f"explain-{name}"
        assert run(explain_command, [*base, "--out", out, *extra]) == 0
        frames[name] = pd.read_csv(out / "attributions.csv")
        summaries[name] = json.loads((out / "explain.json").read_text())
    assert len(frames["one"]) > 50 and "shapley_sampled" in set(frames["one"]["method"])
    for name in ("jobs", "dask"):
        pd.testing.assert_frame_equal(frames[name], frames["one"], check_exact=True)
        assert (summaries[name]["quality"]["completeness"]
                == summaries["one"]["quality"]["completeness"])
        assert summaries[name]["quality"]["sanity_check"] == (
            summaries["one"]["quality"]["sanity_check"])
    partition = summaries["dask"]["settings"]["partition"]
    assert partition["scheduler"] == scheduler
    assert "coordinating process" in partition["note"]
    assert summaries["jobs"]["settings"]["partition"]["jobs"] == 2


def test_predict_keeps_intervals_flags_and_unseen_ingredients_on_workers(tmp_path, scheduler,
                                                                         unseen_setup):
    """An ensemble's spread, intervals and flags, and an unseen ingredient the folder
    describes (the workers load the extended model), are the same on workers as here."""
    from xai.cli import main

    data, model, new = unseen_setup
    for folder in (data, new):
        outputs = {}
        for name, extra in (("one", []), ("jobs", ["--jobs", "2"]),
                            ("dask", ["--scheduler", scheduler])):
            out = tmp_path / f"{folder.name}-{name}.csv"
            assert main(["predict", "--model", str(model), "--data", str(folder), "--out",
                         str(out), "--coverage", "0.8", "--quiet", *extra]) == 0
            outputs[name] = out.read_text()
        frame = pd.read_csv(tmp_path / f"{folder.name}-one.csv", keep_default_na=False)
        assert list(frame.columns) == ["formulation_id", "property", "prediction", "spread",
                                       "lower", "upper", "flags"]
        assert outputs["jobs"] == outputs["one"]
        assert outputs["dask"] == outputs["one"]
    assert len(frame) == 4
    assert frame.loc[frame["formulation_id"] == "N1", "flags"].str.contains("unseen:NEW").all()
    explained = {}  # one thread here as on each worker: thread counts can move the last bits
    for name, extra in (("one", []), ("jobs", ["--jobs", "2"])):
        out = tmp_path / f"explain-{name}"
        assert main(["explain", "--model", str(model), "--data", str(new), "--out", str(out),
                     "--threads", "1", "--quiet", *extra]) == 0
        explained[name] = pd.read_csv(out / "attributions.csv", keep_default_na=False)
    assert "NEW" in set(explained["one"]["ingredient"])
    pd.testing.assert_frame_equal(explained["jobs"], explained["one"], check_exact=True)
