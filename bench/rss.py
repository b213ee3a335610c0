"""Wall time and peak resident memory of a command, measured in a process of its own.

``python -m bench.rss CMD ...`` runs CMD as its only child and prints one JSON line: the return
code, the wall seconds and the child's peak resident set size (``getrusage(RUSAGE_CHILDREN)``,
which covers the largest process among the command and the children it waited for). The
command's own output goes to stderr so that stdout holds only the JSON.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence


def measure(command: Sequence[str], *, timeout: float | None = None) -> dict:
    """Run ``command`` through this module in a fresh process and return its measurements plus
    the tail of the command's output (``output``)."""
    proc = subprocess.run([sys.executable, "-m", "bench.rss", *command], capture_output=True,
                          text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(f"could not measure {' '.join(command)}: {proc.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result["output"] = proc.stderr[-4000:]
    return result


def main(argv: Sequence[str]) -> int:
    start = time.perf_counter()
    code = subprocess.run(list(argv), stdout=sys.stderr).returncode
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"returncode": code, "wall_s": seconds, "peak_rss_mb": peak_kb / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
