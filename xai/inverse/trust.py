"""What the trained model says of each design, through the machinery ``xai predict`` uses.

Every property the model predicts (the targeted ones first) gets its prediction (an ensemble's
members' mean), the members' spread, the conformal interval at the model's calibrated coverage
and the applicability flags of :meth:`models.applicability.Domain.flags`, all from one call of
:func:`models.calibration.predict_table`: ``designs.csv`` fed to ``xai predict`` gives the same
numbers and flags.

Older checkpoints still work. Without a calibration there is no interval, and
:class:`~xai.inverse.result.Trust` says why. Without a domain the design space's training
recipes give one, fitted by the same :func:`models.applicability.fit_domain` that training uses
(no ``disagree`` flag then: that needs an ensemble's spread on its training recipes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xai.inverse.problem import DesignSpace
from xai.inverse.result import PropertyPrediction, Trust
from xai.inverse.targets import Target

__all__ = ["design_predictions"]

Recipe = tuple[Sequence[str], np.ndarray]

NO_CALIBRATION = ("the model carries no interval calibration (trained before intervals "
                  "existed, or without xai train)")


def design_predictions(model, dataset, space: DesignSpace, targets: Sequence[Target],
                       recipes: Mapping[str, Recipe]
                       ) -> tuple[dict[str, tuple[PropertyPrediction, ...]], Trust]:
    """Per design id of ``recipes``, a :class:`PropertyPrediction` for every property of
    ``model`` (targeted ones first, in ``targets`` order), and where intervals and flags come
    from."""
    from models.calibration import predict_table

    model, trust = _with_domain(model, dataset, space)
    by_property = {t.property: t for t in targets}
    properties = [*by_property, *(p for p in model.properties if p not in by_property)]
    rows = pd.DataFrame([(f, p) for f in recipes for p in properties],
                        columns=["formulation_id", "property"])
    table = predict_table(model, dict(recipes), rows)
    nan = np.full(len(table), np.nan)
    columns = {c: table[c].to_numpy(np.float64) if c in table else nan
               for c in ("prediction", "lower", "upper", "spread")}
    flags = table["flags"].tolist()
    out: dict[str, list[PropertyPrediction]] = {f: [] for f in recipes}
    for i, (fid, prop) in enumerate(zip(table["formulation_id"], table["property"],
                                        strict=True)):
        out[fid].append(PropertyPrediction(
            property=prop, value=float(columns["prediction"][i]),
            lower=float(columns["lower"][i]), upper=float(columns["upper"][i]),
            spread=float(columns["spread"][i]),
            flags=tuple(f for f in flags[i].split(";") if f), target=by_property.get(prop)))
    return {f: tuple(p) for f, p in out.items()}, trust


def _with_domain(model, dataset, space: DesignSpace):
    """``model`` (a domain fitted on the space's training recipes added where it has none)
    and the :class:`Trust` that says where intervals and flags come from."""
    conformal = getattr(model, "conformal", None)
    intervals = ({"coverage": float(conformal.coverage), "interval_method": conformal.method}
                 if conformal is not None else {"interval_reason": NO_CALIBRATION})
    if getattr(model, "domain", None) is not None:
        return model, Trust(**intervals)
    from models.applicability import fit_domain

    recipes = dataset.recipes()
    domain = fit_domain([recipes[f] for f in space.training_ids])
    reason = (f"the model carries no applicability domain (trained before domains existed, or "
              f"without xai train): flags against the same domain fitted here on the "
              f"{len(space.training_ids)} training recipes of the design space")
    return (dataclasses.replace(model, domain=domain),
            Trust(**intervals, flags_source="training recipes", flags_reason=reason))
