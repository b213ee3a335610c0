import json

from models.data import load_dataset
from models.summary import summarize

FORMULATIONS = """\
formulation_id,ingredient,amount
001,W,60
NA,W,50
001,G,30
NA,O,50
001,W,10
F3,G,100
"""
MEASUREMENTS = """\
formulation_id,property,value
001,visc,10.5
NA,visc,-2
001,ph,6.5
001,visc,11.5
"""


def test_summary_numbers(tmp_path):
    (tmp_path / "formulations.csv").write_text(FORMULATIONS)
    (tmp_path / "measurements.csv").write_text(MEASUREMENTS)
    ds = load_dataset(tmp_path)
    s = summarize(ds)
    assert (s.n_formulations, s.n_measurements, s.n_ingredients, s.n_properties) == (3, 4, 3, 2)
    assert s.measurements_per_property == {"ph": 1, "visc": 3}
    assert s.ingredients_per_recipe == {"min": 1.0, "median": 2.0, "mean": 5 / 3, "max": 2.0}
    assert s.ingredient_frequency == {"G": 2, "W": 2, "O": 1}
    assert s.duplicate_pairs == 1 and s.warnings == list(ds.warnings)
    assert json.loads(json.dumps(s.to_dict())) == s.to_dict()
