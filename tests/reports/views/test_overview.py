"""The accuracy section's interval coverage and error-by-rarest-ingredient tables."""

from reports.views.overview import error_by_rarest, interval_coverage


def _cells(block: dict) -> list[list[str]]:
    return [[c["text"] for c in row] for row in block["rows"]]


def test_interval_coverage_per_property_with_its_method():
    block = interval_coverage({"method": "cv", "nominal": 0.9, "held_out": "fold by fold",
                               "properties": {"ph": {"n": 120, "coverage": 0.883,
                                                     "median_width": 0.5}}})
    assert block["kind"] == "table"
    assert _cells(block) == [["ph", "120", "90%", "88.3%", "0.500"]]
    assert "out-of-fold residuals" in block["note"] and "fold by fold" in block["note"]
    assert interval_coverage(None)["kind"] == "text"


def test_error_by_rarest_shows_rmse_and_count_per_bin():
    groups = [{"bin": "unseen", "n": 0, "rmse": None}, {"bin": "1-2", "n": 4, "rmse": 2.5},
              {"bin": "3-9", "n": 10, "rmse": 1.25}, {"bin": "10+", "n": 30, "rmse": 1.0}]
    block = error_by_rarest({"bins": ["unseen", "1-2", "3-9", "10+"],
                             "properties": {"ph": groups}, "counted_in": "the training split"},
                            {"ph": "pH units"})
    assert block["columns"][2:] == ["rarest seen unseen", "rarest seen 1-2", "rarest seen 3-9",
                                    "rarest seen 10+"]
    assert _cells(block) == [["ph", "pH units", "\u2013", "2.50 (4)", "1.25 (10)", "1.00 (30)"]]
    assert "the training split" in block["note"]
