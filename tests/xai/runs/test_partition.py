"""Chunks run locally, on loky workers and on a two-worker Dask cluster give the same results."""

import numpy as np
import pytest

from xai.runs.partition import chunk_bounds, run_chunks


def _seeded_sums(bounds: tuple[int, int]) -> list[float]:
    # per-item seeds: the result must not depend on the chunk or the worker
    return [float(np.random.default_rng([7, i]).normal(size=5).sum()) for i in range(*bounds)]


@pytest.mark.parametrize(("n", "k"), [(10, 3), (3, 8), (1, 1), (0, 4), (100, 7)])
def test_chunk_bounds_cover_everything_in_order(n, k):
    bounds = chunk_bounds(n, k)
    assert [i for a, b in bounds for i in range(a, b)] == list(range(n))
    assert len(bounds) == min(n, k) if n else bounds == []
    sizes = [b - a for a, b in bounds]
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_loky_and_dask_equal_one_process():
    distributed = pytest.importorskip("distributed")
    chunks = chunk_bounds(23, 4)
    expected = run_chunks(_seeded_sums, chunks)
    assert run_chunks(_seeded_sums, chunks, jobs=2) == expected
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert run_chunks(_seeded_sums, chunks, scheduler=cluster.scheduler_address) == expected
    assert [x for part in expected for x in part] == [x for x in _seeded_sums((0, 23))]
