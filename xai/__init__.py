"""Mixer-XAI, stage 2: what a trained Mixer learned and why it predicts what it does.

The notebook entry points, one import away::

    import models, xai

    model = models.load_model("model/")
    ex = xai.explain(model, recipes, properties=["ph"], absence=xai.Absence.removed())
    ex[0], ex[:5], ex.select(formulations=["F1"]), ex.to_frame()
    predictions = xai.predict(model, recipes)
    audit = xai.audit(model, models.load_dataset("data/"))
    designs = xai.design(model, dataset, ["ph=5.5..6.5"])  # recipes that reach targets

``recipes`` is a long DataFrame (``formulation_id, ingredient, amount``), a dict of dicts
``{formulation_id: {ingredient: amount}}`` or a dataset. The result types share one base
(:class:`xai.results.CaseResults`): a case header, ``len``, indexing, ``select`` and
``to_frame``. The analysers themselves live in sub-packages grouped by the question they
answer: ``attribution``, ``attention``, ``checks``, ``representation``, ``hypotheses``,
``truth``, ``inverse`` (inverse design); ``runs`` strings them together and ``commands`` is the
command line.

Attributes are loaded on first use, so ``import xai`` stays light (no torch, pandas or scipy
until an analysis runs).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "runs.api": ["predict", "explain", "represent", "audit"],
        "inverse": ["design"],
        "absence": ["Absence"],
        "results": ["CaseResults"],
        "attribution.results": ["Attribution"],
        "attribution.interactions": ["Interactions"],
        "attention.maps": ["AttentionMaps", "AttentionSummary"],
        "runs.audit": ["Audit"],
        "runs.settings": ["AuditSettings", "ExplainSettings"],
        "runs.represent": ["RepresentResult"],
    },
)
