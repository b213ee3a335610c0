"""``xai report`` / ``xai demo`` build the audit's settings once, from the command line."""

import argparse

import pytest

from xai.absence import Absence
from xai.commands import report
from xai.runs.settings import AuditSettings


def settings_of(*argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true")
    parser = argparse.ArgumentParser(prog="xai")
    report.add_parser(parser.add_subparsers(dest="command"), common)
    args = parser.parse_args(["report", "--model", "m", "--data", "d", "--out", "o", *argv])
    return report.audit_settings(args)


def test_auto_is_left_for_the_audit_to_resolve():
    settings = settings_of()
    assert settings == AuditSettings.standard()
    assert settings.explain.absence is None  # resolved by run_audit from the explained cases


@pytest.mark.parametrize(("name", "absence"), [("removed", Absence.removed()),
                                              ("balance", Absence.balance()),
                                              ("zero", Absence.zero())])
def test_absence_becomes_the_object(name, absence):
    assert settings_of("--absence", name).explain.absence == absence


def test_quick_and_the_options_build_nested_settings():
    settings = settings_of("--quick", "--max-cases", "7", "--report-seed", "3",
                           "--no-baselines", "--absence", "zero")
    quick = AuditSettings.quick(absence="zero", seed=3, max_cases=7)
    assert settings == quick and settings.seed == 3 == settings.explain.seed
    assert settings.represent.layout == "pca" and not settings.baselines
    # the explain settings the audit hands to explain() unchanged
    assert settings.explain.shapley_exact_max == settings.explain.check_exact_max == 8
    options = settings.to_dict()
    assert options["explain"]["absence"] == "zero" and options["max_cases"] == 7
