"""The Nadeau-Bengio t interval exists once: model selection and the analysers share it."""

import numpy as np
import pytest

from models.experiments import paired_difference
from models.intervals import t_interval, t_test_pvalue
from xai import stats


def test_paired_difference_reads_the_shared_interval():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.3, 10), rng.normal(1.2, 0.3, 10)
    result = paired_difference(a, b, confidence=0.9, test_train_ratio=0.25)
    plain = t_interval(a - b, confidence=0.9)
    corrected = t_interval(a - b, confidence=0.9, correction=0.25)
    assert result["ci"] == pytest.approx([plain.low, plain.high], rel=1e-12)
    assert result["ci_corrected"] == pytest.approx([corrected.low, corrected.high], rel=1e-12)
    assert result["p_value_corrected"] == pytest.approx(t_test_pvalue(a - b, correction=0.25))


def test_no_spread_keeps_its_verdict():
    result = paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert result["ci"] == [0.5, 0.5] and result["p_value"] == 0.0
    assert result["verdict"] == "b lower"


def test_xai_stats_re_exports_the_same_objects():
    assert stats.t_interval is t_interval and stats.t_test_pvalue is t_test_pvalue
