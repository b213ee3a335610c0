"""What the benchmarks ran on, and waiting for a quiet machine before measuring.

Timings on a machine shared with other work are noise, so the runner checks the 1-minute load
average first and records it with every result.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("torch", "numpy", "pandas", "scipy", "scikit-learn", "shap", "captum")


def describe_machine(device: str = "cpu") -> dict:
    """CPU model, core count, memory, OS, Python and library versions, torch threads, and (for a
    CUDA device) the GPU's name and memory."""
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch_threads": torch.get_num_threads(),
        "blas": blas_threads(),
        "versions": {name: _version(name) for name in PACKAGES},
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.device(device))
        info["gpu"] = props.name
        info["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
        info["cuda"] = torch.version.cuda
    return info


def blas_threads() -> list[dict]:
    """The BLAS libraries numpy and torch loaded, with their thread counts."""
    from threadpoolctl import threadpool_info

    return [{"library": i.get("internal_api"), "threads": i.get("num_threads")}
            for i in threadpool_info() if i.get("user_api") == "blas"]


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gb() -> float | None:
    """Total memory in GiB from /proc/meminfo (None where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def load_average() -> float:
    """The 1-minute load average (NaN where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def wait_for_quiet(
    max_load: float, max_wait_s: float, *, every_s: float = 60.0,
    say: Callable[[str], None] = print,
) -> dict:
    """Sleep until the 1-minute load average is below ``max_load`` or ``max_wait_s`` has passed.

    Returns the load seen at the start and at the end, the seconds waited, and whether the
    machine was quiet when measuring began (so a noisy run is labelled, not hidden).
    """
    start, first = time.monotonic(), load_average()
    load = first
    while load >= max_load and time.monotonic() - start < max_wait_s:
        say(f"load average {load:.2f} >= {max_load}: waiting "
            f"({time.monotonic() - start:.0f} of {max_wait_s:.0f} s)")
        time.sleep(every_s)
        load = load_average()
    return {"load_before_wait": first, "load_at_start": load,
            "waited_s": round(time.monotonic() - start, 1), "quiet": bool(load < max_load)}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
