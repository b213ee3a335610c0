"""Targets: parsing, and the checks that refuse targets no design could meet."""

from __future__ import annotations

import numpy as np
import pytest

from xai.inverse.targets import Target, TargetError, check_targets, parse_target


@pytest.mark.parametrize("text, low, high", [
    ("ph=5.5..6.5", 5.5, 6.5),
    ("viscosity_4pin_10rpm = 18000 .. 22000", 18000.0, 22000.0),
    ("ph=6+-0.5", 5.5, 6.5),
    ("ph=6±0.5", 5.5, 6.5),
    ("stability=1e1..2E1", 10.0, 20.0),
    ("ph=6..6", 6.0, 6.0),
])
def test_parse(text, low, high):
    t = parse_target(text)
    assert (t.low, t.high) == pytest.approx((low, high))


@pytest.mark.parametrize("text, words", [
    ("ph", "PROPERTY=LOW..HIGH"),
    ("=1..2", "PROPERTY=LOW..HIGH"),
    ("ph=7..6", "empty"),
    ("ph=abc", "cannot read"),
    ("ph=6+--1", "tolerance must be >= 0"),
    ("ph=1..1e999", "finite"),
])
def test_parse_refuses(text, words):
    with pytest.raises(TargetError, match=words):
        parse_target(text)


OBSERVED = {"ph": np.array([3.0, 5.0, 8.0]), "visc": np.array([100.0, 5000.0])}


def check(*targets):
    return check_targets(targets, model_properties=["ph", "visc", "unmeasured"],
                         observed=OBSERVED, transforms={"visc": "log"})


def test_check_accepts_and_parses():
    assert check("ph=5..6", Target("visc", 200, 300)) == [Target("ph", 5, 6),
                                                          Target("visc", 200, 300)]
    assert check("ph=1..3.5")  # overlapping the data's range is enough


@pytest.mark.parametrize("target, words", [
    ("density=1..2", "does not predict 'density'"),
    ("ph=9..10", "never reached"),
    ("ph=0..2.9", "never reached"),
    ("visc=-5..-1", "never reached"),
    ("unmeasured=1..2", "no measurement"),
    (Target("ph", 6, 5), "empty"),
])
def test_check_refuses(target, words):
    with pytest.raises(TargetError, match=words):
        check(target)


def test_check_lists_every_bad_target_and_repeats():
    with pytest.raises(TargetError) as err:
        check("ph=5..6", "ph=5..7", "density=1..2")
    assert "targeted twice" in str(err.value) and "density" in str(err.value)
    with pytest.raises(TargetError, match="no target"):
        check()
