"""Student-t intervals of a mean of few paired differences, with the Nadeau-Bengio correction.

The one implementation of the formula: model selection (``models.experiments``,
``models.reduction``) and the analysers (``xai.stats`` re-exports these) use it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

NAN = float("nan")


@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided confidence interval.

    ``method`` names how the interval was made (``bootstrap-bca``, ``bootstrap-percentile``,
    ``t``, ``t-corrected`` or ``constant`` when every value was the same); ``n`` is the number of
    pairs it rests on. Bounds are NaN when ``n`` is too small for an interval.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    n: int

    def excludes_zero(self) -> bool:
        """Whether the whole interval lies on one side of zero (False when it is undefined)."""
        return bool(self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return asdict(self)


def t_interval(
    differences: np.ndarray, *, confidence: float = 0.95, correction: float = 0.0
) -> Interval:
    """Student-t interval of the mean of a few paired differences (folds, seeds).

    A bootstrap of five numbers is unreliable, so few pairs get a t-interval. For k-fold
    cross-validation the folds share training data and the plain interval is too narrow;
    ``correction = n_test / n_train`` applies the Nadeau & Bengio (2003) variance correction
    (variance factor ``1/k + n_test/n_train`` instead of ``1/k``).
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    n = len(d)
    method = "t-corrected" if correction else "t"
    if n == 0:
        return Interval(NAN, NAN, NAN, confidence, method, 0)
    mean = float(d.mean())
    if n < 2:
        return Interval(mean, NAN, NAN, confidence, method, n)
    se = math.sqrt(float(d.var(ddof=1)) * (1.0 / n + correction))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * se
    return Interval(mean, mean - half, mean + half, confidence, method, n)


def t_test_pvalue(differences: np.ndarray, *, correction: float = 0.0) -> float:
    """Two-sided p-value of mean(differences) = 0 with the same (optionally corrected)
    standard error as :func:`t_interval`; NaN with fewer than two values or no spread."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2:
        return NAN
    se = math.sqrt(float(d.var(ddof=1)) * (1.0 / n + correction))
    if se == 0:
        return NAN
    return float(2 * stats.t.sf(abs(d.mean()) / se, df=n - 1))
