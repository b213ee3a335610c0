"""RepresentResult's table of verdicts."""

from types import SimpleNamespace

from xai.hypotheses.registry import Verdict
from xai.runs.represent import RepresentResult


def test_verdicts_frame_has_one_row_per_hypothesis():
    verdicts = [Verdict("supported", statistic=2.0, p_value=0.01, name="a", statement="A"),
                Verdict("not supported", interval=(-1.0, 0.5), name="b", statement="B")]
    frame = RepresentResult.to_frame(SimpleNamespace(verdicts=verdicts))
    assert frame["name"].tolist() == ["a", "b"]
    assert frame["verdict"].tolist() == ["supported", "not supported"]
    assert frame.loc[0, "p_value"] == 0.01
    assert (frame.loc[1, "interval_low"], frame.loc[1, "interval_high"]) == (-1.0, 0.5)
