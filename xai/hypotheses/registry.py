"""Representation hypotheses: named, testable statements about what a model learned.

Each hypothesis is a function ``(context) -> Verdict`` registered under a name and a statement on
a :class:`Registry`. The context (:class:`xai.hypotheses.context.AnalysisContext`) gives lazy,
cached access to the analyses the hypotheses share (embedding geometry, expert agreement,
substitution experiments, attention), so nothing is computed twice and nothing a hypothesis does
not need is computed at all. ``Registry.evaluate`` runs the hypotheses, corrects their p-values
across hypotheses (Holm by default) and turns a "supported" verdict whose adjusted p-value is no
longer significant into "not supported". Hypotheses decided by an interval rather than a p-value are
left as they are.

``xai.hypotheses.builtins.BUILTIN`` holds the built-in hypotheses and is read-only; extend a
copy::

    registry = BUILTIN.copy()

    @registry.register("my_claim", "what it says")
    def my_claim(context): ...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import binomtest

from xai.representation.expert_agreement import adjust_pvalues
from xai.stats import mean_interval

if TYPE_CHECKING:
    from xai.hypotheses.context import AnalysisContext

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)


@dataclass(frozen=True)
class Verdict:
    """The outcome of testing one hypothesis.

    ``statistic`` is the test statistic (its meaning is in ``evidence["statistic"]``);
    ``p_value`` the raw p-value and ``adjusted_p`` the one corrected across hypotheses (None for
    hypotheses decided by an ``interval``); ``effect_size`` a signed size of the effect where it
    has one; ``evidence`` the numbers behind the verdict.
    """

    verdict: str
    statistic: float | None = None
    p_value: float | None = None
    interval: tuple[float, float] | None = None
    effect_size: float | None = None
    evidence: dict = field(default_factory=dict)
    name: str = ""
    statement: str = ""
    adjusted_p: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")

    def to_dict(self) -> dict:
        return {
            "name": self.name, "statement": self.statement, "verdict": self.verdict,
            "statistic": _num(self.statistic), "p_value": _num(self.p_value),
            "adjusted_p": _num(self.adjusted_p),
            "interval": None if self.interval is None else [_num(v) for v in self.interval],
            "effect_size": _num(self.effect_size), "note": self.note,
            "evidence": self.evidence,
        }


class Inconclusive(Exception):  # noqa: N818 -- raised to end a test with this verdict
    """Raised inside a hypothesis when it cannot be tested (missing data); the message says why."""


@dataclass(frozen=True)
class Hypothesis:
    name: str
    statement: str
    test: Callable[[AnalysisContext], Verdict]


class Registry:
    """An ordered set of hypotheses; ``frozen`` registries refuse new ones (copy them first)."""

    def __init__(self, hypotheses: Iterable[Hypothesis] = (), *, frozen: bool = False) -> None:
        self._items: dict[str, Hypothesis] = {}
        for h in hypotheses:
            self._add(h)
        self.frozen = frozen

    def register(self, name: str, statement: str) -> Callable:
        """Decorator adding ``fn(context) -> Verdict`` under ``name``; returns ``fn`` unchanged."""
        def decorate(fn: Callable[[AnalysisContext], Verdict]) -> Callable:
            if self.frozen:
                raise RuntimeError("this registry is read-only; register on registry.copy()")
            self._add(Hypothesis(name, statement, fn))
            return fn
        return decorate

    def _add(self, hypothesis: Hypothesis) -> None:
        if hypothesis.name in self._items:
            raise ValueError(f"a hypothesis named {hypothesis.name!r} is already registered")
        self._items[hypothesis.name] = hypothesis

    def copy(self) -> Registry:
        """An editable copy."""
        return Registry(self._items.values())

    @property
    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self):
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def evaluate(
        self, context: AnalysisContext, names: Sequence[str] | None = None, *,
        correction: str = "holm", alpha: float | None = None,
    ) -> list[Verdict]:
        """Test each hypothesis (all, or ``names``) and correct p-values across them.

        A hypothesis that raises :class:`Inconclusive` gets that verdict with the reason.
        """
        alpha = context.settings.alpha if alpha is None else alpha
        unknown = sorted(set(names or ()) - set(self._items))
        if unknown:
            raise ValueError(f"unknown hypotheses {unknown}; registered: {self.names}")
        verdicts = []
        for h in (self._items[n] for n in (names or self.names)):
            try:
                v = h.test(context)
            except Inconclusive as reason:
                v = Verdict(INCONCLUSIVE, note=str(reason))
            verdicts.append(replace(v, name=h.name, statement=h.statement))
        adjusted = adjust_pvalues([v.p_value for v in verdicts], method=correction)
        out = []
        for v, p in zip(verdicts, adjusted, strict=True):
            if math.isfinite(p):
                v = replace(v, adjusted_p=float(p))
                if v.verdict == SUPPORTED and p >= alpha:
                    v = replace(v, verdict=NOT_SUPPORTED, note=_join(
                        v.note, f"p = {v.p_value:.3g} is not significant after {correction} "
                                f"correction across {int(np.isfinite(adjusted).sum())} "
                                f"hypotheses (adjusted p = {p:.3g})"))
            out.append(v)
        return out


def monotonic_test(predictions: Sequence[np.ndarray], *, required_share: float,
                   alpha: float) -> Verdict:
    """Share of (recipe, series) rows whose predictions (N, k) move strictly one way along the
    order, in each series' prevailing direction; binomial test against chance ordering
    (2/k! for k >= 3 when the k predictions fell in random order, 1/2 for k = 2)."""
    hits, total, per_series, chance = 0, 0, [], 0.0
    for p in predictions:
        steps = np.diff(p, axis=1)
        direction = 1.0 if np.median(p[:, -1] - p[:, 0]) >= 0 else -1.0
        ok = np.all(steps * direction > 0, axis=1)
        k = p.shape[1]
        chance = max(chance, 0.5 if k == 2 else min(1.0, 2.0 / math.factorial(k)))
        hits, total = hits + int(ok.sum()), total + len(ok)
        per_series.append({"n": len(ok), "share": float(ok.mean()) if len(ok) else None,
                           "direction": "increasing" if direction > 0 else "decreasing"})
    if total == 0:
        raise Inconclusive("no recipes to test")
    share = hits / total
    p_value = float(binomtest(hits, total, chance, alternative="greater").pvalue)
    verdict = (SUPPORTED if share >= required_share and p_value < alpha else
               NOT_SUPPORTED if share < required_share else INCONCLUSIVE)
    return Verdict(verdict, statistic=share, p_value=p_value, effect_size=share - chance,
                   evidence={"statistic": "share of recipes monotonic in the order",
                             "n": total, "chance": chance, "required_share": required_share,
                             "series": per_series})


def slope_test(predictions: Sequence[np.ndarray], orders: Sequence[Sequence[float]], *,
               band: tuple[float, float], n_bootstrap: int, seed: int) -> Verdict:
    """Mean per-recipe least-squares slope of log(prediction) on log(order), with a bootstrap
    interval over recipes; supported when the interval lies inside ``band``, not supported when
    it lies wholly outside, inconclusive otherwise."""
    slopes, per_series = [], []
    for p, o in zip(predictions, orders, strict=True):
        x = np.log(np.asarray(o, dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(p)
        x = x - x.mean()
        s = ((y - y.mean(1, keepdims=True)) @ x) / (x @ x)  # (N,)
        s = s[np.isfinite(s)]
        slopes.append(s)
        per_series.append({"n": len(s), "mean_slope": float(s.mean()) if len(s) else None})
    values = np.concatenate(slopes) if slopes else np.zeros(0)
    if len(values) < 2:
        raise Inconclusive("fewer than two recipes with positive predictions")
    ci = mean_interval(values, n_resamples=n_bootstrap, seed=seed)
    low, high = band
    verdict = (SUPPORTED if low <= ci.low and ci.high <= high else
               NOT_SUPPORTED if ci.high < low or ci.low > high else INCONCLUSIVE)
    return Verdict(verdict, statistic=ci.estimate, interval=(ci.low, ci.high),
                   effect_size=ci.estimate - (low + high) / 2,
                   evidence={"statistic": "mean log-log slope of prediction against order",
                             "band": list(band), "n": len(values), "series": per_series,
                             "interval_method": ci.method})


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
