"""Numbers rounded for people, and the group palette."""

import math

import pytest

from reports.format import count, fixed, num, pct, pvalue, seconds, short_hash, signed
from reports.palette import UNGROUPED_COLOUR, build_palette


@pytest.mark.parametrize(("value", "digits", "shown"), [
    (0.0123456, 3, "0.0123"),
    (1.23456, 3, "1.23"),
    (123.456, 3, "123"),
    (12345.6, 3, "12,346"),
    (-0.5, 2, "-0.50"),
    (0.0000123, 3, "1.23e-05"),
    (0, 3, "0"),
    (None, 3, "\u2013"),
    (math.nan, 3, "\u2013"),
    (math.inf, 3, "\u2013"),
])
def test_num(value, digits, shown):
    assert num(value, digits) == shown


def test_other_formats():
    assert fixed(0.8567) == "0.86" and fixed(-0.001) == "0.00" and fixed(None) == "\u2013"
    assert signed(0.25) == "+0.250" and signed(-2) == "-2.00" and signed(0) == "0"
    assert pct(0.237) == "24%" and pct(1) == "100%" and pct(None) == "\u2013"
    assert pvalue(0.0004) == "< 0.001" and pvalue(0.0312) == "0.031" and pvalue(1.0) == "1.0"
    assert count(1234567) == "1,234,567" and count(None) == "\u2013"
    assert seconds(3.21) == "3.2 s" and seconds(42) == "42 s" and seconds(125) == "2 min 5 s"
    assert short_hash("abcdef0123456789") == "abcdef012345" and short_hash(None) == "\u2013"


def test_palette_is_deterministic_and_consistent():
    groups = {"RM1": "oil", "RM2": "wax", "RM3": "oil"}
    a, b = build_palette(groups), build_palette(dict(reversed(groups.items())))
    assert a.colours == b.colours
    assert a.colour("RM1") == a.colour("RM3") == a.group_colour("oil")
    assert a.colour("RM1") != a.colour("RM2")
    assert a.colour("unknown") == UNGROUPED_COLOUR and a.group_of("unknown") == "ungrouped"
    assert a.legend(["RM2", "RM9"]) == [("ungrouped", UNGROUPED_COLOUR),
                                        ("wax", a.group_colour("wax"))]
