"""Numbers as the benchmark page writes them."""

from __future__ import annotations

import math


def num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def pct(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.2%}" if x < 0.1 else f"{x:.1%}"


def gb(mib: float) -> str:
    return f"{mib * 2**20 / 1e9:.2f} GB"
