import sys
import textwrap

import pytest

from models.numba_cache import cache_compiled

pytest.importorskip("numba")


def test_compiled_functions_of_a_module_are_cached_on_disk(tmp_path, monkeypatch):
    (tmp_path / "jitted_sample.py").write_text(textwrap.dedent("""
        from numba import njit

        @njit
        def plus_one(x):
            return x + 1

        def plain(x):
            return x
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jitted_sample", raising=False)

    cache_compiled("jitted_sample")
    import jitted_sample

    assert jitted_sample.plus_one(41) == 42
    assert jitted_sample.plain(3) == 3
    stored = {p.suffix for p in (tmp_path / "__pycache__").iterdir()}
    assert {".nbi", ".nbc"} <= stored  # numba's index and compiled code


def test_a_missing_module_is_skipped():
    cache_compiled("no_such_module_for_numba_cache")
