import json
from pathlib import Path

import pandas as pd

from models.data import Dataset
from models.summary import summarize


def test_summary_numbers():
    formulations = pd.DataFrame({
        "formulation_id": ["001", "001", "NA", "NA", "F3"],
        "ingredient": ["W", "G", "W", "O", "G"],
        "amount": [70.0, 30.0, 50.0, 50.0, 100.0],
    })
    measurements = pd.DataFrame({"formulation_id": ["001", "NA", "001", "001"],
                                 "property": ["visc", "visc", "ph", "visc"],
                                 "value": [10.5, -2.0, 6.5, 11.5]})
    ds = Dataset(root=Path("."), formulations=formulations, measurements=measurements,
                 duplicate_pairs=1, warnings=("a warning",))
    s = summarize(ds)
    assert (s.n_formulations, s.n_measurements, s.n_ingredients, s.n_properties) == (3, 4, 3, 2)
    assert s.measurements_per_property == {"ph": 1, "visc": 3}
    assert s.ingredients_per_recipe == {"min": 1.0, "median": 2.0, "mean": 5 / 3, "max": 2.0}
    assert s.ingredient_frequency == {"G": 2, "W": 2, "O": 1}
    assert s.duplicate_pairs == 1 and s.warnings == ["a warning"]
    assert json.loads(json.dumps(s.to_dict())) == s.to_dict()
