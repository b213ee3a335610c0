"""OpenMP threads wait passively unless the environment says otherwise."""

import os
import subprocess
import sys

import pytest

CODE = ("import os\n"
        "from models.threads import configure_threads\n"
        "configure_threads(1)\n"
        "print(os.environ['OMP_WAIT_POLICY'])\n")


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_configure_threads_sets_a_passive_wait_policy_by_default(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
