"""The partitioned-prediction benchmark runs on local workers and renders its section. No
timing is asserted."""

from bench.config import tiny
from bench.markdown import _partitioned
from bench.partitioned import run_partitioned
from models.checkpoint import save_model


def test_tiny_partitioned_runs_and_renders(tiny_model, tiny_dataset, tmp_path):
    save_model(tiny_model, tmp_path / "model")
    recipes = list(tiny_dataset.recipes().values())
    result = run_partitioned(tmp_path / "model", recipes, tiny().partitioned,
                             say=lambda _: None)
    assert result["n_pairs"] == 40 * len(tiny_model.properties)
    assert result["jobs"]["2"]["identical"]
    assert result["estimate"]["seconds"] > 0
    assert "## 9. Predictions on several processes" in _partitioned(result)
