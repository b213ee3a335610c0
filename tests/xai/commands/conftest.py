"""A small-data ensemble and a folder of new recipes holding an ingredient it never saw."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture
def unseen_setup(tmp_path, tiny_toml) -> tuple[Path, Path, Path]:
    """``(data, model, new)``: 80 small-regime recipes, a 2-member ensemble trained on them with
    descriptors, and a folder with recipes N1 (C000 and the unseen NEW) and N2 (C000 alone)
    whose ingredients.csv describes NEW (no measurements; the folder may be changed)."""
    from xai.cli import main

    data, model = tmp_path / "data", tmp_path / "model"
    (tmp_path / "tiny.toml").write_text(tiny_toml(seed=0))
    assert main(["synth", "--regime", "small", "--formulations", "80", "--out", str(data),
                 "--quiet"]) == 0
    assert main(["train", "--data", str(data), "--out", str(model), "--config",
                 str(tmp_path / "tiny.toml"), "--ensemble", "2", "--quiet"]) == 0
    new = tmp_path / "new"
    new.mkdir()
    pd.DataFrame({"formulation_id": ["N1", "N1", "N2"], "ingredient": ["C000", "NEW", "C000"],
                  "amount": [70.0, 30.0, 100.0]}).to_csv(new / "formulations.csv", index=False)
    pd.DataFrame({"ingredient": ["NEW"], "group": ["ester"], "d1": [0.3], "d2": [""],
                  "d3": [1.0]}).to_csv(new / "ingredients.csv", index=False)
    return data, model, new
