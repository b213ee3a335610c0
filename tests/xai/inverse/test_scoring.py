"""The scorer predicts what ``xai predict`` states: the Mixer, or an ensemble's members' mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.calibration import predict_table
from xai.inverse.problem import build_space
from xai.inverse.scoring import Scorer
from xai.inverse.targets import Target


@pytest.mark.parametrize("which", ["tiny_model", "ensemble_model"])
def test_scorer_predicts_what_predict_table_states(which, tiny_dataset, request):
    model = request.getfixturevalue(which)
    space = build_space(model, tiny_dataset)
    scorer = Scorer(model, space, [Target("ph", 5.0, 6.0), Target("stability", 20.0, 90.0)])
    x = space.training[:6]
    z = scorer.predict_z(x)
    recipes = {str(i): space.recipe(row) for i, row in enumerate(x)}
    rows = pd.DataFrame([(f, p) for f in recipes for p in ("ph", "stability")],
                        columns=["formulation_id", "property"])
    table = predict_table(model, recipes, rows)
    expected = table["prediction"].to_numpy().reshape(len(x), 2)
    np.testing.assert_allclose(scorer.to_original(z), expected, rtol=1e-5)
    if which == "ensemble_model":  # the refitted Mixer alone says something else
        alone = model.predict(list(recipes.values()), ["ph"] * len(x))
        assert np.abs(alone - expected[:, 0]).max() > 1e-3
    low, high = scorer.bounds
    distance = scorer.target_distance(z)
    assert ((distance == 0) == ((z >= low) & (z <= high))).all()
