import pytest

from models.expert_distances import read_expert_distances
from models.validation import DataError


def test_reads_the_rows_of_the_table(tmp_path):
    (tmp_path / "ingredient_distances.csv").write_text(
        "ingredient_a,ingredient_b,distance\nwater,glycerin,0.5\nwater,xanthan,2\n")
    assert read_expert_distances(tmp_path) == [("water", "glycerin", 0.5),
                                               ("water", "xanthan", 2.0)]


def test_no_table_is_none(tmp_path):
    assert read_expert_distances(tmp_path) is None


def test_bad_rows_are_named_with_file_and_line(tmp_path):
    (tmp_path / "ingredient_distances.csv").write_text(
        "ingredient_a,ingredient_b,distance\nwater,glycerin,-1\nwater,xanthan,far\n")
    with pytest.raises(DataError) as err:
        read_expert_distances(tmp_path)
    text = str(err.value)
    assert "ingredient_distances.csv" in text and "line 2" in text and "line 3" in text


def test_missing_column_is_named(tmp_path):
    (tmp_path / "ingredient_distances.csv").write_text("ingredient_a,distance\nwater,1\n")
    with pytest.raises(DataError, match="ingredient_b"):
        read_expert_distances(tmp_path)
