"""Ingredient descriptors: numeric columns of ``ingredients.csv`` fed to the Mixer's tokens.

Any column of ``ingredients.csv`` other than ``ingredient``, ``group`` and ``name`` whose cells
are all numbers or empty is a descriptor (HLB, density, molar mass, a pure-component value ...).
Values are standardised over the training vocabulary's ingredients that have them; a missing
value is 0 with mask 0. The Mixer adds a learned projection of (values, mask) to each code
vector (:class:`models.mixer.MixerConfig` ``descriptor_names``), so a rare ingredient borrows
strength from ingredients that resemble it, and an ingredient absent from training can be
predicted when its descriptors are given (:func:`extend_vocabulary`: a zero code, its
descriptors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from models.mixer import Mixer, build_mixer
from models.trained import TrainedModel

NOT_DESCRIPTORS = ("ingredient", "group", "name")


def read_descriptors(root: str | Path) -> pd.DataFrame | None:
    """Numeric descriptor columns of ``root/ingredients.csv`` (or ``.parquet``), indexed by
    ingredient, NaN where a value is missing; None when there are none."""
    root = Path(root)
    if (root / "ingredients.csv").is_file():
        frame = pd.read_csv(root / "ingredients.csv", dtype=str, keep_default_na=False)
    elif (root / "ingredients.parquet").is_file():
        frame = pd.read_parquet(root / "ingredients.parquet").astype(str)
    else:
        return None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "ingredient" not in frame:
        return None
    frame["ingredient"] = frame["ingredient"].str.strip()
    frame = frame[frame["ingredient"] != ""].drop_duplicates("ingredient").set_index("ingredient")
    columns = {}
    for column in frame.columns:
        if column in NOT_DESCRIPTORS:
            continue
        text = frame[column].str.strip().replace({"": None, "nan": None, "None": None})
        values = pd.to_numeric(text, errors="coerce")
        if values.notna().any() and (values.notna() == text.notna()).all():
            columns[column] = values.astype("float64")
    return pd.DataFrame(columns, index=frame.index) if columns else None


def fill_descriptors(mixer: Mixer, ingredients: Sequence[str], table: pd.DataFrame | None) -> None:
    """Write the standardised descriptors of ``ingredients`` (id i + 1 for name i) into
    ``mixer``'s buffers, fitting the standardisation on them; no-op without descriptors."""
    names = mixer.config.descriptor_names
    if not names:
        return
    raw = _raw(ingredients, names, table)
    center = np.nanmean(raw, axis=0) if np.isfinite(raw).any() else np.zeros(len(names))
    scale = np.nanstd(raw, axis=0)
    center = np.nan_to_num(center)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    with torch.no_grad():
        mixer.descriptor_center.copy_(torch.as_tensor(center, dtype=torch.float32))
        mixer.descriptor_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
        _write_rows(mixer, np.arange(1, len(ingredients) + 1), raw)


def extend_vocabulary(model: TrainedModel, names: Sequence[str],
                      table: pd.DataFrame | None) -> TrainedModel:
    """A copy of ``model`` (and of its ensemble members) that also knows ``names``: a zero code
    vector each (what weight decay leaves of an ingredient never trained) plus, for a model
    with descriptors, their descriptors from ``table`` in the training standardisation."""
    new = [n for n in dict.fromkeys(names) if n not in set(model.encoder.ingredients)]
    if not new:
        return model
    encoder = replace(model.encoder, ingredients=(*model.encoder.ingredients, *new))
    raw = _raw(new, model.mixer.config.descriptor_names, table)
    ids = np.arange(len(model.encoder.ingredients) + 1, encoder.n_ingredient_ids)
    grown = replace(model, mixer=_grow(model.mixer, encoder.n_ingredient_ids, ids, raw),
                    encoder=encoder)
    if model.ensemble is not None:
        members = [_grow(m, encoder.n_ingredient_ids, ids, raw) for m in model.ensemble.mixers]
        grown.ensemble = replace(model.ensemble, mixers=members)
    return grown


def _grow(old: Mixer, n_ids: int, ids: np.ndarray, raw: np.ndarray) -> Mixer:
    config = replace(old.config, n_ingredients=n_ids)
    mixer = build_mixer(config, seed=0)
    state = old.state_dict()
    grown = {}
    for key, value in mixer.state_dict().items():
        if key in ("ingredient_embedding.weight", "descriptors", "descriptor_mask"):
            value = torch.zeros_like(value)
            value[: state[key].shape[0]] = state[key]
        else:
            value = state[key]
        grown[key] = value
    mixer.load_state_dict(grown)
    if config.descriptor_names:
        with torch.no_grad():
            _write_rows(mixer, ids, raw)
    mixer.eval()
    return mixer


def describable(model: TrainedModel, names: Sequence[str], table: pd.DataFrame | None) -> list[str]:
    """Those of ``names`` for which ``table`` gives at least one of the model's descriptors."""
    columns = model.mixer.config.descriptor_names
    if not columns or table is None:
        return []
    raw = _raw(names, columns, table)
    return [n for n, row in zip(names, raw, strict=True) if np.isfinite(row).any()]


def _raw(names: Sequence[str], columns: Sequence[str], table: pd.DataFrame | None) -> np.ndarray:
    raw = np.full((len(names), len(columns)), np.nan)
    if table is None:
        return raw
    for j, column in enumerate(columns):
        if column in table:
            raw[:, j] = table[column].reindex(list(names)).to_numpy(np.float64)
    return raw


def _write_rows(mixer: Mixer, ids: np.ndarray, raw: np.ndarray) -> None:
    center = mixer.descriptor_center.numpy()
    scale = mixer.descriptor_scale.numpy()
    present = np.isfinite(raw)
    values = np.where(present, (np.nan_to_num(raw) - center) / scale, 0.0)
    index = torch.as_tensor(ids, dtype=torch.long)
    mixer.descriptors[index] = torch.as_tensor(values, dtype=torch.float32)
    mixer.descriptor_mask[index] = torch.as_tensor(present, dtype=torch.float32)


def descriptor_options(root: str | Path,
                       mixer_options: dict | None) -> tuple[dict, pd.DataFrame | None]:
    """``mixer_options`` with ``descriptor_names`` set to the folder's descriptor columns unless
    the caller set it (``()`` turns descriptors off), and the descriptor table."""
    options = dict(mixer_options or {})
    table = read_descriptors(root)
    if "descriptor_names" not in options:
        options["descriptor_names"] = tuple(table.columns) if table is not None else ()
    return options, table


def with_unseen(model: TrainedModel, root: str | Path,
                names: Sequence[str]) -> tuple[TrainedModel, list[str]]:
    """``model`` extended (:func:`extend_vocabulary`) by those of the unseen ``names`` that the
    folder ``root``'s ingredients.csv describes, and the unseen names it cannot take."""
    unseen = model.encoder.unknown_ingredients(names)
    if not unseen:
        return model, []
    table = read_descriptors(root)
    described = describable(model, unseen, table)
    refused = sorted(set(unseen) - set(described))
    return extend_vocabulary(model, described, table), refused
