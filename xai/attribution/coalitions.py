"""Evaluating the model on many coalitions of a recipe's ingredients, in large batches.

A coalition is a (T,) bool vector over a case's slots: True keeps a player, False makes it absent
in the sense of ``xai.absence``. Slots that are not players (padding, the balance
ingredient under ``balance`` absence) ignore the coalition. The value v(S) of a coalition is the
model output for the recipe so changed, in the property's standardised model units.

For a ``Mixer`` the evaluation never builds a padded recipe per coalition: each case's tokens (and
their first-block projections) are computed once, coalitions are grouped by how many tokens they
keep, and each group gathers just its present tokens into a dense block that runs without any
attention mask (``Mixer.run_blocks``). Under ``removed`` and ``balance`` absence, enumerating all
2^n coalitions of a case goes further: ``models.subsets`` computes every subset's prediction in one
pass that shares the first block's attention scores and each token's dense layers across the
subsets. Any other callable with the Mixer's forward signature ``f(property_ids, ingredient_ids,
amounts, mask) -> (B,)`` is evaluated on recipes built with ``xai.absence.apply_absence``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.mixer import Mixer
from models.modes import evaluation
from models.subsets import subset_predictions
from xai.absence import REMOVED, Absence, apply_absence, as_absence, players
from xai.cases import Cases

Model = Mixer | Callable[..., torch.Tensor]
Game = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``game(case_index (C,), coalitions (C, T) bool) -> v (C,) float64``."""

SPLIT_PLAYERS = 12
"""Cases with more players are enumerated in 2^(n - 12) parts of 2^12 subsets each: memory stays
bounded, and on 2 cores it measured fastest (18 players: 0.79 s against 0.94 s in parts of 2^14
and 1.6 s in parts of 2^10)."""

SUBSETS_PER_COALITION = 4
"""Subsets the every-subset pass takes per call for each full-width coalition of ``batch_size``:
a subset holds only its present tokens (about half a recipe's, unpadded) where a padded forward
holds every slot, and larger calls spread the pass's Python overhead thinner. On 2 cores 1,000
recipes of 10 players took 1.7 s at 4 (32 recipes, 32,768 subsets a call) against 2.2 s at 1."""


@dataclass(frozen=True)
class SubsetGame:
    """A game that can also give v over all subsets of its cases' players at once."""

    game: Game
    every_subset: Callable[[Sequence[np.ndarray], Sequence[int], int,
                            Callable[[int], None] | None], dict[int, np.ndarray]]

    def __call__(self, case_index: np.ndarray, coalitions: np.ndarray) -> np.ndarray:
        return self.game(case_index, coalitions)


def coalition_values(
    model: Model,
    cases: Cases,
    coalitions: np.ndarray | torch.Tensor,
    absence: Absence | str = REMOVED,
    *,
    case_index: np.ndarray | Sequence[int] | None = None,
    batch_size: int = 8192,
) -> np.ndarray:
    """Model outputs (C,) float64 for ``coalitions`` (C, T) bool of the cases' slots.

    ``case_index`` (C,) says which case each coalition belongs to; it may be left out when
    ``cases`` holds a single case. ``model`` is a Mixer (fast path) or any callable with the
    Mixer's forward signature. Values are in the property's standardised model units.
    """
    coalitions = np.asarray(coalitions, dtype=bool)
    if coalitions.ndim != 2 or coalitions.shape[1] != cases.ids.shape[1]:
        raise ValueError(f"coalitions must be (C, {cases.ids.shape[1]}) bool, "
                         f"not {coalitions.shape}")
    if case_index is None:
        if len(cases) != 1:
            raise ValueError("case_index is needed when there is more than one case")
        case_index = np.zeros(len(coalitions), dtype=np.int64)
    case_index = np.asarray(case_index, dtype=np.int64)
    if case_index.shape != (len(coalitions),):
        raise ValueError("case_index must give one case per coalition")
    if len(case_index) and (case_index.min() < 0 or case_index.max() >= len(cases)):
        raise ValueError("case_index out of range")
    return make_game(model, cases, absence, batch_size=batch_size)(case_index, coalitions)


def make_game(
    model: Model, cases: Cases, absence: Absence | str, *, batch_size: int = 8192,
    fast: bool = True
) -> Game:
    """The coalition game of ``cases``: a function of (case_index, coalitions) to values.

    Per-case work (token states, first-block projections) is done once here, so callers that
    evaluate coalitions in several rounds should keep the returned function. ``fast=False``
    runs a Mixer through its plain forward on padded recipes instead, which makes an
    independent reference for the fast path. Modules are evaluated as in eval mode.
    ``batch_size`` is the number of coalitions per model call at the cases' full width;
    coalitions that keep fewer tokens go in proportionally larger batches.
    """
    absence = as_absence(absence)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if fast and isinstance(model, Mixer):
        game = _mixer_game(model, cases, absence, batch_size)
        if absence.kind in ("removed", "balance"):
            return SubsetGame(game, _EverySubset(model, cases, absence))
        return game
    return _callable_game(model, cases, absence, batch_size)


def player_slots(cases: Cases, absence: Absence) -> list[np.ndarray]:
    """Each case's player slots, in slot order (see ``xai.absence.players``)."""
    is_player = players(cases.mask, cases.balance_slot, absence).numpy()
    return [np.flatnonzero(row) for row in is_player]


def subset_members(n: int) -> np.ndarray:
    """(2^n, n) bool: row s holds the players in subset s (bit j of s is player j)."""
    s = np.arange(2**n, dtype=np.int64)
    return ((s[:, None] >> np.arange(n)) & 1).astype(bool)


def to_slots(slots: np.ndarray, members: np.ndarray, width: int) -> np.ndarray:
    """(C, width) bool coalitions over slots from (C, n) bool membership of the n ``slots``."""
    out = np.zeros((len(members), width), dtype=bool)
    out[:, slots] = members
    return out


def enumerate_values(
    game: Game,
    slots: Sequence[np.ndarray],
    rows: Sequence[int],
    width: int,
    *,
    batch_size: int = 8192,
    on_done: Callable[[int], None] | None = None,
) -> dict[int, np.ndarray]:
    """v over all 2^n subsets (indexed as in ``subset_members``) for each case in ``rows``.

    Small cases are pooled so that each call to ``game`` holds at least ``batch_size``
    coalitions; ``on_done(k)`` is told how many cases each call finished. A
    :class:`SubsetGame` enumerates them itself.
    """
    if isinstance(game, SubsetGame):
        return game.every_subset(slots, rows, batch_size, on_done)
    out: dict[int, np.ndarray] = {}
    pending: list[int] = []
    pending_size = 0

    def flush() -> None:
        nonlocal pending, pending_size
        if not pending:
            return
        blocks = [to_slots(slots[r], subset_members(len(slots[r])), width) for r in pending]
        index = np.concatenate([np.full(len(b), r, dtype=np.int64) for b, r in
                                zip(blocks, pending, strict=True)])
        v = game(index, np.concatenate(blocks))
        start = 0
        for r, b in zip(pending, blocks, strict=True):
            out[r] = v[start:start + len(b)]
            start += len(b)
        if on_done is not None:
            on_done(len(pending))
        pending, pending_size = [], 0

    for r in rows:
        pending.append(r)
        pending_size += 2 ** len(slots[r])
        if pending_size >= batch_size:
            flush()
    flush()
    return out


# -- the two evaluators ---------------------------------------------------------------------------


def _absent(cases: Cases, absence: Absence, case_index: np.ndarray, coalitions: np.ndarray):
    """(C, T) bool: the player slots that each coalition makes absent."""
    is_player = players(cases.mask, cases.balance_slot, absence)[torch.from_numpy(case_index)]
    return is_player & ~torch.from_numpy(coalitions)


def _callable_game(model: Callable, cases: Cases, absence: Absence, batch_size: int) -> Game:
    def game(case_index: np.ndarray, coalitions: np.ndarray) -> np.ndarray:
        out = np.empty(len(case_index), dtype=np.float64)
        for start in range(0, len(case_index), batch_size):
            part = slice(start, start + batch_size)
            index = torch.from_numpy(case_index[part])
            drop = _absent(cases, absence, case_index[part], coalitions[part])
            amounts, mask = apply_absence(cases.amounts[index], cases.mask[index], drop,
                                          absence=absence, balance_slot=cases.balance_slot[index])
            with torch.no_grad(), evaluation(model):
                y = model(cases.property_ids[index], cases.ids[index], amounts, mask)
            out[part] = torch.as_tensor(y).detach().double().cpu().numpy().reshape(-1)
        return out

    return game


def _mixer_game(mixer: Mixer, cases: Cases, absence: Absence, batch_size: int) -> Game:
    """The fast path: a table of every case's input tokens and their first-block projections,
    from which each group of equally long coalitions gathers its present tokens."""
    param = next(mixer.parameters())
    device, dtype = param.device, param.dtype
    N, T = cases.ids.shape
    ids = cases.ids.to(device)
    amounts = cases.amounts.to(device=device, dtype=dtype)
    with torch.no_grad():
        vectors = mixer.ingredient_vectors(ids)  # (N, T, base_dim)
        states = mixer.token_states(cases.property_ids.to(device), ids, amounts,
                              ingredient_vectors=vectors)  # (N, T+1, D)
        if absence.kind == "zero":
            # rows T+1.. of the table hold each slot's token at amount 0
            zero = mixer.token_states(cases.property_ids.to(device), ids,
                                torch.zeros_like(amounts), ingredient_vectors=vectors)
            states = torch.cat([states, zero], dim=1)  # (N, 2(T+1), D)
        qkv = mixer.first_qkv(states)
    balance = cases.balance_slot.to(device)
    rows = torch.arange(N, device=device)
    balance_vectors = vectors[rows, balance.clamp(min=0)]  # (N, base_dim)
    balance_amounts = amounts[rows, balance.clamp(min=0)]  # (N,)
    mask = cases.mask.to(device)

    def evaluate(index: torch.Tensor, keep: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        # keep (G, T+1) with the same count per row; drop (G, T) the absent player slots
        G = len(index)
        tokens = keep.nonzero()[:, 1].view(G, -1)  # (G, S) kept token positions, 0 first
        source = tokens
        if absence.kind == "zero":
            dropped = torch.cat([torch.zeros_like(drop[:, :1]), drop], dim=1)
            source = tokens + (T + 1) * dropped.gather(1, tokens)
        flat = (index[:, None] * states.shape[1] + source).view(-1)
        x = states.view(-1, states.shape[-1]).index_select(0, flat).view(G, -1, states.shape[-1])
        q = None if qkv is None else qkv.view(-1, qkv.shape[-1]).index_select(0, flat).view(
            G, -1, qkv.shape[-1])  # (G, S, 3D)
        if absence.kind == "balance":
            x, q = top_up_balance(index, tokens, drop, x, q)
        return mixer.run_blocks(x, first_qkv=q)

    def top_up_balance(index, tokens, drop, x, q):
        # the balance token carries its own amount plus whatever the absent players leave
        slot = balance[index]  # (G,)
        has = slot >= 0
        at = (tokens == (slot + 1)[:, None]) & has[:, None]  # (G, S) where the balance token is
        if not bool(at.any()):
            return x, q
        moved = (amounts[index] * drop).sum(1)  # (G,) amount the absent players leave
        new = balance_amounts[index] + moved
        tok = mixer.encode_amounts(balance_vectors[index][:, None], new[:, None])  # (G, 1, D)
        x = torch.where(at[..., None], tok, x)
        if q is not None:
            q = torch.where(at[..., None], mixer.first_qkv(tok), q)
        return x, q

    def game(case_index: np.ndarray, coalitions: np.ndarray) -> np.ndarray:
        out = torch.empty(len(case_index), dtype=torch.float64)
        if not len(case_index):
            return out.numpy()
        index = torch.from_numpy(case_index).to(device)
        drop = _absent(cases, absence, case_index, coalitions).to(device)
        present = mask[index] if absence.kind == "zero" else mask[index] & ~drop
        keep = torch.cat([torch.ones_like(present[:, :1]), present], dim=1)  # (C, T+1)
        counts = keep.sum(1)
        order = torch.argsort(counts, stable=True)
        sorted_counts = counts[order]
        with torch.no_grad():
            for count in torch.unique(sorted_counts).tolist():
                group = order[sorted_counts == count]
                # equal work per batch: batch_size coalitions of the longest recipe's width
                step = max(1, batch_size * (T + 1) // count)
                for start in range(0, len(group), step):
                    part = group[start:start + step]
                    y = evaluate(index[part], keep[part], drop[part])
                    out[part.cpu()] = y.double().cpu()
        return out.numpy()

    return game


class _EverySubset:
    """v over all subsets of each case's players under ``removed`` or ``balance`` absence,
    through ``models.subsets.subset_predictions``: the property token, the balance ingredient's
    token (present in every subset, with the amount that subset leaves it) and the players'
    tokens."""

    def __init__(self, mixer: Mixer, cases: Cases, absence: Absence) -> None:
        self.mixer, self.cases = mixer, cases
        param = next(mixer.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.balance = (cases.balance_slot.cpu().numpy().astype(np.int64)
                        if absence.kind == "balance" else np.full(len(cases), -1))

    def __call__(self, slots: Sequence[np.ndarray], rows: Sequence[int], batch_size: int,
                 on_done: Callable[[int], None] | None) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        groups: dict[tuple[int, bool], list[int]] = {}
        for r in rows:
            groups.setdefault((len(slots[r]), bool(self.balance[r] >= 0)), []).append(int(r))
        for (n, _), group in sorted(groups.items()):
            if n > SPLIT_PLAYERS:
                for r in group:
                    out[r] = self._in_parts(r, slots[r])
                    if on_done is not None:
                        on_done(1)
                continue
            absent = ~subset_members(n)
            step = max(1, SUBSETS_PER_COALITION * batch_size // 2**n)
            for start in range(0, len(group), step):
                part = group[start:start + step]
                players = [slots[r] for r in part]
                out.update(zip(part, self._values(part, players, players, [], absent),
                               strict=True))
                if on_done is not None:
                    on_done(len(part))
        return out

    def _in_parts(self, r: int, players: np.ndarray) -> np.ndarray:
        """One case of many players: for each subset of the players above the lowest
        :data:`SPLIT_PLAYERS`, those present join the fixed tokens."""
        low, high = players[:SPLIT_PLAYERS], players[SPLIT_PLAYERS:]
        low_absent = ~subset_members(len(low))
        width = len(low_absent)
        v = np.empty(2 ** len(players))
        for h, present in enumerate(subset_members(len(high))):
            absent = np.concatenate([low_absent, np.broadcast_to(~present, (width, len(high)))],
                                    axis=1)
            v[h * width:(h + 1) * width] = self._values([r], [players], [low],
                                                        list(high[present]), absent)[0]
        return v

    def _values(self, rows: list[int], players: list[np.ndarray], toggled: list[np.ndarray],
                fixed: list[int], absent: np.ndarray) -> np.ndarray:
        """(R, 2^k) values of the cases ``rows`` (all with a balance ingredient or all without)
        over the subsets of their ``toggled`` player slots (k each), the player slots ``fixed``
        present in every subset; ``absent`` (2^k, n) marks the ``players`` (n each) that each
        subset leaves out, whose amounts go to the balance ingredient."""
        mixer, index = self.mixer, torch.as_tensor(rows)
        amounts = self.cases.amounts[index].to(device=self.device, dtype=self.dtype)
        ids = self.cases.ids[index].to(self.device)
        balance = self.balance[rows]
        n_head = 1 if balance[0] < 0 else 2  # the property token, then any balance token
        tokens = np.array([np.concatenate([[0, b + 1][:n_head], np.add(fixed, 1), t + 1])
                           for b, t in zip(balance, toggled, strict=True)], dtype=np.int64)
        tokens = torch.as_tensor(tokens, device=self.device)
        with torch.no_grad(), evaluation(mixer):
            x = mixer.token_states(self.cases.property_ids[index].to(self.device), ids, amounts)
            x = x.gather(1, tokens[..., None].expand(-1, -1, x.shape[-1]))
            varying = None
            if balance[0] >= 0:  # the balance's amount plus what each subset leaves out
                slot = torch.as_tensor(balance, device=self.device)[:, None]
                left = amounts.gather(1, torch.as_tensor(np.array(players), device=self.device))
                moved = left @ torch.as_tensor(absent.T, dtype=self.dtype, device=self.device)
                vectors = mixer.ingredient_vectors(ids.gather(1, slot))  # (R, 1, base_dim)
                varying = mixer.encode_amounts(vectors.expand(-1, len(absent), -1),
                                               amounts.gather(1, slot) + moved)
            v = subset_predictions(mixer, x, n_head + len(fixed), varying=varying)
        return v.double().cpu().numpy()
