"""How many threads torch and the BLAS libraries may use, set once per process from one number.

Left alone, torch, OpenMP and OpenBLAS each size their pools from the machine's core count, and
several jobs on a shared machine then run many more threads than cores, which spin and collapse
far below each job's fair share. The command line therefore sets every pool from ``--threads``
(default: the CPUs this process may run on, from its affinity mask), and commands that run
``jobs`` workers give each ``threads // jobs`` of them.

OpenMP's threads wait for work by spinning. When other processes share the cores, a spinning
thread takes the core from the thread that would give it work, and a run collapses: on 2 cores
shared with other jobs, one ``xai train`` that takes 7 s with passive waiting took 20 s, and
four at once took 305 s each instead of about 28 s (measured with concurrent runs). So the
wait policy is set to passive (threads sleep while they wait) unless the environment says
otherwise; it takes effect where OpenMP starts after :func:`configure_threads` (the command line
configures threads before it imports torch) and in the worker processes started afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
WAIT_POLICY = ("OMP_WAIT_POLICY", "PASSIVE")  # a value already in the environment wins


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def current_threads() -> int:
    """The threads this process may use: torch's intra-op count, which :func:`configure_threads`
    sets (torch's own default where nothing configured it)."""
    import torch

    return max(torch.get_num_threads(), 1)


@contextmanager
def at_most_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads limited to ``n`` inside the block (never raised), restored
    after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(min(before, n), 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def per_worker(threads: int, jobs: int) -> int:
    """Threads for each of ``jobs`` workers sharing ``threads``: at least one."""
    return max(threads // max(jobs, 1), 1)


def configure_threads(threads: int) -> None:
    """Limit this process (and the workers it starts) to ``threads`` threads.

    The environment variables reach libraries loaded later and spawned workers; torch, when
    already imported, is set directly, and BLAS pools already loaded are limited through
    threadpoolctl.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    os.environ.setdefault(*WAIT_POLICY)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only possible before torch's first parallel work
            pass
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
