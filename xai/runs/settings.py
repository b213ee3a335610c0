"""The settings of one run, as typed objects the command line builds once and the runs read.

Kept free of heavy imports (no torch, pandas or NumPy): the command-line parsers read their
defaults and choices from here without loading the numerical stack.

An audit's settings hold the explain settings and the representation settings themselves, so
:func:`xai.runs.audit.run_audit` hands ``settings.explain`` to :func:`xai.runs.explain.explain`
and ``settings.represent`` to :func:`xai.runs.represent.represent` unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from xai.absence import ABSENCES, Absence, as_absence
from xai.attribution.constants import SAMPLERS
from xai.hypotheses.settings import Settings as RepresentSettings

METHODS = ("ig", "shapley")
"""The built-in attribution methods."""
REFERENCE_METHODS = ("shap-exact", "shap-permutation", "captum-ig")
"""Reference implementations (shap, captum) that ``xai explain --method`` also runs."""
AUDIT_ABSENCES = ("auto", *ABSENCES)
"""What ``--absence`` accepts on the audit commands; ``auto`` is balance when the data name a
balance ingredient that the recipes hold, else removed."""
TOP_K = 3  # ingredients a reader looks at first; used for agreement and disagreement flags
N_DEPENDENCE = 3  # the audit's dependence panels: leading ingredients of this many properties

__all__ = ["AUDIT_ABSENCES", "METHODS", "REFERENCE_METHODS", "AuditSettings", "ExplainSettings",
           "RepresentSettings"]


@dataclass(frozen=True)
class ExplainSettings:
    """Settings of one explain run.

    The defaults keep a whole test split of the synthetic data (about 2,000 cases) to well
    under a minute on two cores: Shapley values are enumerated up to ``shapley_exact_max``
    players and estimated beyond from the model evaluations of ``shapley_permutations``
    permutations, spent by ``shapley_sampler`` (``kernel`` or ``permutation``, see
    :func:`xai.attribution.shapley.shapley_values`; each value with its standard error; with
    ``shapley_target_se`` set, sampling stops per case once every standard error is at most
    that share of |f(recipe) - f(nothing)|, and ``shapley_permutations`` is the most drawn);
    the sanity check and deletion curves run on ``check_cases`` cases, the sanity check with
    the cheaper ``check_*`` settings; interactions are enumerated for at most
    ``interaction_cases`` cases of up to ``interaction_max_players`` players. ``absence`` is
    an :class:`~xai.absence.Absence` (a name is accepted and turned into one); None means
    "auto", resolved by the run from the cases: balance when
    they hold a balance ingredient, else removed.
    """

    methods: tuple[str, ...] = METHODS
    absence: Absence | None = field(default_factory=Absence.removed)
    seed: int = 0
    check_cases: int = 100
    n_random: int = 5
    attention_threshold: float = 0.1
    ig_tolerance: float = 1e-3
    ig_max_steps: int = 256
    shapley_exact_max: int = 10
    shapley_permutations: int = 16
    shapley_sampler: str = "kernel"
    shapley_target_se: float | None = None
    check_ig_max_steps: int = 64
    check_exact_max: int = 8
    check_permutations: int = 16
    interaction_cases: int = 1000
    interaction_max_players: int = 10
    truth_max_players: int = 12
    top_k: int = TOP_K
    dependence_top: int = 10
    progress: bool = False

    def __post_init__(self) -> None:
        methods = tuple(self.methods)
        unknown = set(methods) - set(METHODS) - set(REFERENCE_METHODS)
        if unknown or not methods:
            raise ValueError(f"methods must be a non-empty subset of "
                             f"{METHODS + REFERENCE_METHODS}, not {self.methods}")
        object.__setattr__(self, "methods", methods)
        if self.shapley_sampler not in SAMPLERS:
            raise ValueError(f"shapley_sampler must be one of {SAMPLERS}, not "
                             f"{self.shapley_sampler!r}")
        if isinstance(self.absence, str):  # a name, from an API caller: parsed here, once
            object.__setattr__(self, "absence", as_absence(self.absence))

    def to_dict(self) -> dict:
        """JSON-able: the absence as its kind (``"removed"``, ``"balance"``, ``"zero"``)."""
        d = asdict(self)
        d["methods"] = list(self.methods)
        d["absence"] = None if self.absence is None else str(self.absence)
        return d


def _audit_explain(**changes) -> ExplainSettings:
    """The audit's explain settings: the checks with the same Shapley settings as the main
    run, interactions and truth scores up to the same player count."""
    exact_max = changes.pop("exact_max", 10)
    permutations = changes.pop("n_permutations", 64)
    players = changes.pop("interaction_players", 11)
    base = dict(absence=None, check_cases=48, ig_max_steps=64, shapley_exact_max=exact_max,
                shapley_permutations=permutations, check_exact_max=exact_max,
                check_permutations=permutations, interaction_cases=60,
                interaction_max_players=players, truth_max_players=players, top_k=TOP_K,
                dependence_top=N_DEPENDENCE)
    return ExplainSettings(**{**base, **changes})


@dataclass(frozen=True)
class AuditSettings:
    """How much of the model to explain, and with what settings.

    ``explain`` is what :func:`xai.runs.explain.explain` runs on the explained cases (its
    ``absence`` None: auto, resolved from the data at the start of the audit; its ``seed`` is
    the audit's seed); ``represent`` is what :func:`xai.runs.represent.represent` runs with.
    ``max_cases`` caps the (formulation, property) pairs explained; ``review_formulations``
    formulations of the test split get a review page (all their measured properties are among
    the explained cases); ``attention_samples`` recipes get attention maps;
    ``represent_formulations`` caps the recipes of the substitution experiments. The reference
    check compares a seeded sample of ``reference_cases`` cases of at most
    ``reference_max_players`` players with ``shap.KernelExplainer`` on every coalition (exact
    values) and with ``captum.attr.IntegratedGradients`` at ``reference_ig_steps``
    Gauss-Legendre steps.
    """

    explain: ExplainSettings = field(default_factory=_audit_explain)
    represent: RepresentSettings = field(default_factory=lambda: RepresentSettings(
        layout="auto", n_permutations=499, n_bootstrap=500, n_random=10))
    max_cases: int = 300
    review_formulations: int = 12
    attention_samples: int = 3
    represent_formulations: int = 200
    baselines: bool = True
    experiments: Path | None = None
    reference_cases: int = 12
    reference_max_players: int = 10
    reference_ig_steps: int = 1024

    @property
    def seed(self) -> int:
        """The one seed of the audit (sampling, permutations, layouts): the explain seed."""
        return self.explain.seed

    @classmethod
    def standard(cls, *, absence: Absence | str | None = None, seed: int = 0,
                 **changes) -> AuditSettings:
        """The full audit; ``absence`` None (or ``"auto"``) is resolved from the data."""
        return cls(explain=_audit_explain(absence=_audit_absence(absence), seed=seed),
                   represent=cls().represent, **changes)

    @classmethod
    def quick(cls, *, absence: Absence | str | None = None, seed: int = 0,
              **changes) -> AuditSettings:
        """A fast preview: few cases, permutations and donors, PCA instead of UMAP, no
        baselines. For tests and a first look, not for conclusions."""
        explain = _audit_explain(absence=_audit_absence(absence), seed=seed, check_cases=8,
                                 interaction_cases=10, interaction_players=8, exact_max=8,
                                 n_permutations=16, ig_max_steps=32)
        represent = RepresentSettings(layout="pca", n_permutations=99, n_bootstrap=100,
                                      n_random=3)
        preview = dict(max_cases=40, review_formulations=3, attention_samples=2,
                       represent_formulations=20, baselines=False, reference_cases=6)
        return cls(explain=explain, represent=represent, **{**preview, **changes})

    def with_absence(self, absence: Absence) -> AuditSettings:
        """These settings with the absence resolved (what the audit records and runs with)."""
        return replace(self, explain=replace(self.explain, absence=absence))

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["explain"] = self.explain.to_dict()
        d["represent"] = asdict(self.represent)
        d["experiments"] = None if self.experiments is None else str(self.experiments)
        return d


def _audit_absence(absence: Absence | str | None) -> Absence | None:
    return None if absence is None or absence == "auto" else as_absence(absence)
