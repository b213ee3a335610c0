"""The (formulation, property) pairs an analysis explains, encoded once for the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from models.data import Dataset
from models.trained import TrainedModel
from xai.absence import Absence


@dataclass(frozen=True)
class Cases:
    """N cases, each one recipe and one property, padded to T slots.

    ``ingredients[i]`` names the ingredients of case i in slot order and ``raw_amounts[i]`` their
    amounts in the dataset's units; ``ids`` / ``amounts`` (normalised) / ``mask`` are (N, T),
    ``property_ids`` (N,); ``balance_slot`` (N,) is the slot of the balance ingredient (-1 where a
    recipe has none or none was named); ``measured`` (N,) is the mean measured value in original
    units (NaN where the pair was not measured).
    """

    formulation_ids: tuple[str, ...]
    properties: tuple[str, ...]
    ingredients: tuple[tuple[str, ...], ...]
    raw_amounts: tuple[np.ndarray, ...]
    property_ids: torch.Tensor
    ids: torch.Tensor
    amounts: torch.Tensor
    mask: torch.Tensor
    balance_slot: torch.Tensor
    measured: np.ndarray
    balance_ingredient: str | None = None

    def __len__(self) -> int:
        return len(self.formulation_ids)

    def select(self, rows: Sequence[int] | np.ndarray) -> Cases:
        """A subset of cases, trimmed to its longest recipe."""
        rows = np.asarray(rows, dtype=np.int64)
        index = torch.from_numpy(rows)
        width = max(int(self.mask[index].sum(1).max()) if len(rows) else 1, 1)
        return Cases(
            formulation_ids=tuple(self.formulation_ids[i] for i in rows),
            properties=tuple(self.properties[i] for i in rows),
            ingredients=tuple(self.ingredients[i] for i in rows),
            raw_amounts=tuple(self.raw_amounts[i] for i in rows),
            property_ids=self.property_ids[index],
            ids=self.ids[index, :width],
            amounts=self.amounts[index, :width],
            mask=self.mask[index, :width],
            balance_slot=self.balance_slot[index],
            measured=self.measured[rows],
            balance_ingredient=self.balance_ingredient,
        )


def make_cases(
    model: TrainedModel,
    dataset: Dataset,
    formulation_ids: Sequence[str],
    properties: Sequence[str] | None = None,
    *,
    absence: Absence | None = None,
    balance_ingredient: str | None = None,
) -> Cases:
    """Encode cases for ``formulation_ids``.

    With ``properties``, every formulation is paired with every listed property; without, with
    each property measured on it (:func:`case_pairs`). The balance ingredient is
    ``balance_ingredient`` when given, else the one ``absence`` names
    (``Absence.balance("water")``), else the one named in the dataset's ``truth.json`` when
    there is one.
    """
    return encode_pairs(model, dataset, case_pairs(model, dataset, formulation_ids, properties),
                        absence=absence, balance_ingredient=balance_ingredient)


def case_pairs(
    model: TrainedModel,
    dataset: Dataset,
    formulation_ids: Sequence[str],
    properties: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The (``formulation_id``, ``property``) pairs :func:`make_cases` encodes, in its order,
    with ``measured``, the pair's mean measured value (NaN where it was not measured). Cheap
    beside encoding, so a caller can choose among many pairs and encode only those it keeps."""
    recipes = dataset.recipes()
    missing = [f for f in formulation_ids if f not in recipes]
    if missing:
        raise ValueError(f"unknown formulations: {missing[:10]}")
    wanted = dataset.measurements[dataset.measurements["formulation_id"].isin(
        set(formulation_ids))]
    if properties is not None:
        unknown = sorted(set(properties) - set(model.properties))
        if unknown:
            raise ValueError(f"the model does not predict {unknown}")
        pairs = pd.DataFrame([(f, p) for f in formulation_ids for p in properties],
                             columns=["formulation_id", "property"])
    else:
        pairs = wanted[["formulation_id", "property"]].drop_duplicates().reset_index(drop=True)
        pairs = pairs[pairs["property"].isin(model.properties)].reset_index(drop=True)
    means = wanted.groupby(["formulation_id", "property"], sort=False)["value"].mean()
    keys = pd.MultiIndex.from_frame(pairs[["formulation_id", "property"]])
    return pairs.assign(measured=means.reindex(keys).to_numpy(dtype=np.float64))


def encode_pairs(
    model: TrainedModel,
    dataset: Dataset,
    pairs: pd.DataFrame,
    *,
    absence: Absence | None = None,
    balance_ingredient: str | None = None,
) -> Cases:
    """Encode rows of :func:`case_pairs` (all of them or those a caller kept, in their order),
    with the balance ingredient chosen as :func:`make_cases` does."""
    if balance_ingredient is None and absence is not None:
        balance_ingredient = absence.balance_ingredient
    if balance_ingredient is None and dataset.truth:
        balance_ingredient = dataset.truth.get("balance_ingredient")
    return encode_cases(model, dataset.recipes(),
                        list(zip(pairs["formulation_id"], pairs["property"], strict=True)),
                        measured=pairs["measured"].to_numpy(),
                        balance_ingredient=balance_ingredient)


def encode_cases(
    model: TrainedModel,
    recipes: Mapping[str, tuple[Sequence[str], np.ndarray]],
    pairs: Sequence[tuple[str, str]],
    *,
    measured: np.ndarray | None = None,
    balance_ingredient: str | None = None,
) -> Cases:
    """Encode the (formulation_id, property) ``pairs`` over ``recipes`` (formulation id ->
    (ingredient names, amounts)) with the model's encoder. ``measured`` (N,) defaults to NaN;
    the caller has checked that the model knows every ingredient and property."""
    fids = [f for f, _ in pairs]
    props = [p for _, p in pairs]
    block = model.encoder.encode_recipes([recipes[f] for f in fids])
    names = tuple(tuple(recipes[f][0]) for f in fids)
    balance = [n.index(balance_ingredient) if balance_ingredient in n else -1 for n in names]
    return Cases(
        formulation_ids=tuple(fids),
        properties=tuple(props),
        ingredients=names,
        raw_amounts=tuple(np.asarray(recipes[f][1], dtype=np.float64) for f in fids),
        property_ids=torch.tensor([model.encoder.property_id(p) for p in props],
                                  dtype=torch.long),
        ids=block.ids,
        amounts=block.amounts,
        mask=block.mask,
        balance_slot=torch.tensor(balance, dtype=torch.long),
        measured=np.full(len(pairs), np.nan) if measured is None else measured,
        balance_ingredient=balance_ingredient,
    )


def auto_absence(cases: Cases) -> Absence:
    """The absence "auto" stands for: ``balance`` (with the cases' balance ingredient) when
    some recipe holds the balance ingredient, else ``removed``."""
    if cases.balance_ingredient is not None and bool((cases.balance_slot >= 0).any()):
        return Absence.balance(cases.balance_ingredient)
    return Absence.removed()


def random_cases(
    sizes: Sequence[int],
    balance: Sequence[int],
    *,
    seed: int,
    n_ingredients: int = 20,
    dtype: torch.dtype = torch.float32,
) -> Cases:
    """Toy cases of random recipes (ids 1..n_ingredients, amounts in [0.1, 1.1)), for checking
    analysers against brute force. ``sizes`` gives each recipe's length, ``balance`` each
    case's balance slot (-1 for none); cases alternate between property ids 0 and 1."""
    g = torch.Generator().manual_seed(seed)
    N, T = len(sizes), max(sizes)
    mask = torch.arange(T)[None] < torch.tensor(sizes)[:, None]
    ids = torch.stack([torch.randperm(n_ingredients, generator=g)[:T] + 1 for _ in range(N)])
    ids = ids * mask
    amounts = (0.1 + torch.rand(N, T, generator=g)) * mask
    return Cases(
        formulation_ids=tuple(f"F{i}" for i in range(N)),
        properties=tuple(f"p{i % 2}" for i in range(N)),
        ingredients=tuple(tuple(f"I{int(i)}" for i in row[:n])
                          for row, n in zip(ids.tolist(), sizes, strict=True)),
        raw_amounts=tuple(amounts[i, :n].double().numpy() for i, n in enumerate(sizes)),
        property_ids=torch.arange(N) % 2,
        ids=ids, amounts=amounts.to(dtype), mask=mask,
        balance_slot=torch.tensor(balance), measured=np.full(N, np.nan),
    )


def length_chunks(lengths: np.ndarray, rows: np.ndarray, size: int, *,
                  max_padding: float = 0.1, min_size: int = 64) -> list[np.ndarray]:
    """``rows`` sorted by recipe length and cut into chunks of at most ``size``.

    :meth:`Cases.select` trims each chunk to its longest recipe, and attention costs grow with
    the square of the length, so a chunk is also cut (once it holds ``min_size`` rows) before
    its padding would exceed ``max_padding`` times its real tokens: a few long recipes then do
    not pad a hundred short ones.
    """
    rows = np.asarray(rows)
    ordered = rows[np.argsort(lengths[rows], kind="stable")]
    size = max(size, 1)
    chunks, start, tokens = [], 0, 0
    for i, row in enumerate(ordered):
        count, longest = i - start + 1, int(lengths[row])
        if count > size or (count > min_size
                            and longest * count > (1 + max_padding) * (tokens + longest)):
            chunks.append(ordered[start:i])
            start, tokens = i, 0
        tokens += int(lengths[row])
    if start < len(ordered):
        chunks.append(ordered[start:])
    return chunks
