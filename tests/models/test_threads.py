"""Thread limits: one number sets torch, OpenMP and BLAS pools; workers share it out."""

import os
import subprocess
import sys

import pytest

from models.threads import available_cpus, per_worker


def test_available_cpus_follows_the_affinity_mask():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert available_cpus() == expected


@pytest.mark.parametrize(("threads", "jobs", "each"), [(2, 1, 2), (2, 2, 1), (2, 4, 1), (8, 3, 2)])
def test_workers_share_the_threads(threads, jobs, each):
    assert per_worker(threads, jobs) == each


def test_the_command_line_sets_every_pool(tmp_path):
    code = (
        "import os, sys, torch\n"
        "from threadpoolctl import threadpool_info\n"
        "from xai.cli import main\n"
        f"assert main(['synth', '--threads', '1', '--quiet', '--formulations', '30', "
        f"'--out', {str(tmp_path / 'data')!r}]) == 0\n"
        "assert torch.get_num_threads() == 1, torch.get_num_threads()\n"
        "from models.threads import current_threads\n"
        "assert current_threads() == 1\n"
        "assert os.environ['OMP_NUM_THREADS'] == '1'\n"
        "assert all(p['num_threads'] == 1 for p in threadpool_info()), threadpool_info()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_threads_must_be_positive(capsys):
    from xai.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["synth", "--threads", "0", "--out", "x"])
    assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_at_most_threads_lowers_torch_threads_inside_the_block_only():
    import torch

    from models.threads import at_most_threads

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with at_most_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with at_most_threads(4):  # never raised
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)

