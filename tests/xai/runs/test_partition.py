"""Chunks run locally, on loky workers and on a two-worker Dask cluster give the same results."""

import numpy as np
import pytest

from xai.runs.partition import chunk_bounds, run_chunks


@pytest.mark.parametrize(("n", "k"), [(10, 3), (3, 8), (1, 1), (0, 4), (100, 7)])
def test_chunk_bounds_cover_everything_in_order(n, k):
    bounds = chunk_bounds(n, k)
    assert [i for a, b in bounds for i in range(a, b)] == list(range(n))
    assert len(bounds) == min(n, k) if n else bounds == []
    sizes = [b - a for a, b in bounds]
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_loky_and_dask_equal_one_process():
    distributed = pytest.importorskip("distributed")
    # a task every worker can import (test modules are not importable there): sum of each
    # chunk's seeded values, computed from the items alone, never from the worker
    values = np.random.default_rng(7).normal(size=23).tolist()
    chunks = [values[a:b] for a, b in chunk_bounds(len(values), 4)]
    expected = run_chunks(sum, chunks)
    assert expected == [sum(c) for c in chunks]
    assert run_chunks(sum, chunks, jobs=2) == expected
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert run_chunks(sum, chunks, scheduler=cluster.scheduler_address) == expected
