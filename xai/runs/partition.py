"""Independent cases split into chunks and run on several processes or machines.

One code path for both: joblib runs the chunks, on its ``loky`` process pool for ``jobs`` workers
on this machine, or on a dask.distributed cluster (``scheduler="tcp://HOST:PORT"``) through
joblib's Dask backend. Chunks are contiguous and their results come back in chunk order, and
nothing a chunk computes may depend on which worker runs it or on the other chunks (seeds are per
case), so the result equals a single process's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")


def chunk_bounds(n: int, n_chunks: int) -> list[tuple[int, int]]:
    """``n`` items cut into at most ``n_chunks`` contiguous (start, stop) ranges of near-equal
    size (none empty)."""
    n_chunks = max(min(n_chunks, n), 1) if n else 0
    edges = [round(i * n / n_chunks) for i in range(n_chunks + 1)] if n_chunks else [0]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def run_chunks(task: Callable[[Chunk], Result], chunks: Sequence[Chunk], *, jobs: int = 1,
               scheduler: str | None = None) -> list[Result]:
    """``[task(c) for c in chunks]``, on ``jobs`` local processes or on the Dask cluster at
    ``scheduler``. ``task`` and the chunks must be picklable (a module-level function)."""
    if scheduler is None and (jobs <= 1 or len(chunks) <= 1):
        return [task(c) for c in chunks]
    from joblib import Parallel, delayed, parallel_config

    if scheduler is None:
        return Parallel(n_jobs=min(jobs, len(chunks)), backend="loky")(
            delayed(task)(c) for c in chunks)
    from distributed import Client

    with Client(scheduler, set_as_default=False) as client, parallel_config(
            backend="dask", client=client):
        return Parallel(n_jobs=-1)(delayed(task)(c) for c in chunks)
