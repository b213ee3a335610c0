"""The contention benchmark runs concurrent ``xai train`` processes and renders its section.
No timing is asserted."""

from bench.config import tiny
from bench.contention import run_contention
from bench.markdown import _contention
from bench.targets import check_targets


def test_tiny_contention_runs_and_renders(tmp_path):
    config = tiny().contention
    result = run_contention(tmp_path, config, say=lambda _: None)
    assert set(result["runs"]) == {"1", "2"}
    assert len(result["runs"]["2"]["wall_s"]) == 2
    assert all(code == 0 for r in result["runs"].values() for code in r["returncodes"])
    assert result["ratios"]["1"] == 1.0
    assert (tmp_path / "contention" / "x2" / "run1" / "model.safetensors").exists()
    assert "## 8. Threads under contention" in _contention(result)
    verdict = next(v for v in check_targets({"contention": result})
                   if v.target.startswith("N concurrent"))
    assert verdict.outcome in ("met", "missed")
