"""``import xai`` is light and its curated names reach the API."""

import subprocess
import sys

import xai

HEAVY = ("torch", "pandas", "scipy", "optuna", "sklearn", "matplotlib")


def test_import_xai_loads_no_heavy_package():
    code = ("import sys, xai, models; from xai import Absence; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_the_notebook_imports_work_from_a_fresh_interpreter():
    code = "from xai import explain, Absence; from models import load_model; print(Absence.zero())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "zero"


def test_every_exported_name_resolves_and_is_listed():
    assert {"predict", "explain", "represent", "audit", "Absence", "Attribution",
            "Interactions", "AttentionMaps", "CaseResults"} <= set(xai.__all__)
    assert sorted(dir(xai)) == sorted(xai.__all__)
    for name in xai.__all__:
        assert getattr(xai, name) is not None
    from xai.attribution.results import Attribution
    from xai.runs.api import explain

    assert xai.explain is explain and xai.Attribution is Attribution
