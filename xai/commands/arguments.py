"""Argument types for numbers on the command line: ``type=`` callables that turn a bad value
into argparse's own clean error (usage line, exit 2) before any work starts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def integer(*, minimum: int) -> Callable[[str], int]:
    """An ``int`` of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def number(*, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """A finite ``float`` within [low, high] (``low_open`` / ``high_open``: strict bounds)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(f"must be {'above' if low_open else 'at least'} "
                                             f"{low:g}, got {value:g}")
        if high is not None and (value > high or (high_open and value == high)):
            raise argparse.ArgumentTypeError(f"must be {'below' if high_open else 'at most'} "
                                             f"{high:g}, got {value:g}")
        return value

    parse.__name__ = "number"
    return parse


positive_int = integer(minimum=1)
nonnegative_int = integer(minimum=0)
positive_float = number(low=0.0, low_open=True)
share = number(low=0.0, high=1.0, low_open=True)  # (0, 1]
probability = number(low=0.0, high=1.0, low_open=True, high_open=True)  # (0, 1)
