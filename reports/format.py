"""Numbers rounded for people. ``results.json`` keeps them exact; the page shows these.

Each function accepts ``None`` (a missing or undefined value) and shows it as an en dash, so
views and templates never test for it themselves. They are also the Jinja filters of the
package (see :mod:`reports.render`).
"""

from __future__ import annotations

import math

MISSING = "\u2013"


def _missing(value) -> bool:
    if value is None or isinstance(value, bool):
        return value is None
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def num(value, digits: int = 3) -> str:
    """``digits`` significant digits; thousands separators for large values, scientific
    notation for tiny ones (``12,345``, ``0.0123``, ``1.2e-06``)."""
    if _missing(value):
        return MISSING
    x = float(value)
    if x == 0:
        return "0"
    magnitude = abs(x)
    if magnitude >= 10 ** digits:
        return f"{x:,.0f}"
    if magnitude < 1e-3:
        return f"{x:.{max(digits - 1, 0)}e}"
    decimals = max(digits - 1 - math.floor(math.log10(magnitude)), 0)
    return f"{x:,.{decimals}f}"


def fixed(value, decimals: int = 2) -> str:
    """A fixed number of decimals (for R^2, correlations, shares between -1 and 1)."""
    if _missing(value):
        return MISSING
    text = f"{float(value):.{decimals}f}"
    return text.replace("-0." + "0" * decimals, "0." + "0" * decimals)


def signed(value, digits: int = 3) -> str:
    """Like :func:`num` with an explicit sign (``+0.12``, ``-3.4``)."""
    if _missing(value):
        return MISSING
    text = num(value, digits)
    return text if text.startswith("-") or text == "0" else "+" + text


def pct(value, decimals: int = 0) -> str:
    """A share between 0 and 1 as a percentage (``0.237`` -> ``24%``)."""
    if _missing(value):
        return MISSING
    return f"{100 * float(value):.{decimals}f}%"


def pvalue(value) -> str:
    """A p-value: ``< 0.001`` below that, else two significant digits."""
    if _missing(value):
        return MISSING
    p = float(value)
    if p < 0.001:
        return "< 0.001"
    return num(p, 2)


def count(value) -> str:
    """An integer with thousands separators."""
    if _missing(value):
        return MISSING
    return f"{int(value):,}"


def seconds(value) -> str:
    """A duration (``0.4 s``, ``12 s``, ``2 min 5 s``)."""
    if _missing(value):
        return MISSING
    s = float(value)
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    return f"{int(s // 60)} min {int(round(s % 60))} s"


def short_hash(value, length: int = 12) -> str:
    """The first ``length`` characters of a hex digest."""
    if not value:
        return MISSING
    return str(value)[:length]


FILTERS = {
    "num": num, "fixed": fixed, "signed": signed, "pct": pct, "pvalue": pvalue,
    "count": count, "seconds": seconds, "short_hash": short_hash,
}
