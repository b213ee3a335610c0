import numpy as np
import pytest

from xai.representation.substitution_summary import headline


class Swap:
    def __init__(self, kind: str, p_value: float) -> None:
        self.donor_kind, self.p_value = kind, p_value


def rows(kind: str, changes: dict[str, float], error: float = 0.0) -> list[dict]:
    return [{"ingredient": a, "donor_kind": kind, "mean_abs_change": c, "error_change": error}
            for a, c in changes.items()]


def test_nearest_donors_that_always_disturb_less_than_random_ones():
    names = [f"I{i}" for i in range(6)]
    random = {a: 1.0 + i for i, a in enumerate(names)}
    nearest = {a: 0.5 * c for a, c in random.items()}
    per_ingredient = rows("random", random) + rows("nearest", nearest, error=-0.1)
    swaps = [Swap("nearest", 0.01), Swap("nearest", 0.2), Swap("random", float("nan"))]
    out = headline(per_ingredient, swaps, ["nearest", "random"])
    expected = np.mean(list(nearest.values()))
    assert out["kinds"]["nearest"]["mean_abs_change"] == pytest.approx(expected)
    assert out["kinds"]["nearest"]["share_swaps_p_below_alpha"] == 0.5
    assert out["kinds"]["nearest"]["mean_error_change"] == pytest.approx(-0.1)
    versus = out["versus_random"]["nearest"]
    assert versus["p_value"] == pytest.approx(2 / 2**6)  # exact: all six differences negative
    assert versus["verdict"] == "disturbs less than random swaps"
    assert "random" not in out["versus_random"]


def test_too_few_ingredients_and_no_random_donors():
    per_ingredient = rows("random", {"A": 1.0}) + rows("expert", {"A": 1.0})
    out = headline(per_ingredient, [], ["expert", "random"])
    assert out["versus_random"]["expert"]["verdict"] == "too few ingredients to test"
    assert headline(rows("expert", {"A": 1.0}), [], ["expert"])["versus_random"] == {}
