"""The Mixer's prediction for every subset of a recipe's ingredients, in one pass.

Exact Shapley values need the model's output on all 2^n subsets of a recipe's n ingredients.
Evaluated one subset at a time, each is a forward over a handful of tokens whose cost is mostly
small-kernel overhead and copies. This pass uses three facts of the Mixer instead:

- the first block's query/key/value projections act on each token alone, so all of its attention
  scores are known before any subset is chosen. A query token's softmax numerator and denominator
  over a subset are sums of per-key terms over the subset's members, which for every subset at once
  is one matrix product with the subsets' membership matrix;
- after attention, a block acts on each token alone, so its dense layers run once per (subset,
  token) pair that exists, with no padding;
- later blocks add each key's share into the subsets that hold it, and the last block asks with
  the property token alone, the only state the head reads.

Subset ``s`` holds toggled token ``j`` when bit ``j`` of ``s`` is set. Each token's states are
kept once per subset that holds it, in increasing subset order, so "the subsets that hold both
tokens" is a strided view of either token's table (:class:`SubsetGrid`), never a gather.
"""

from __future__ import annotations

import torch

from models.mixer import Block, Mixer

SAFE_EXPONENT = 60.0
"""Where one query's first-block scores spread wider than this, the first block runs as the later
ones do (a softmax per subset): shifted by the largest score of the whole recipe, a subset's
float32 exponentials could all underflow (near -87) and its softmax divide 0 by 0."""


class SubsetGrid:
    """The 2^n subsets of ``n`` toggled tokens that follow ``n_fixed`` tokens present in all.

    A table "over the subsets that hold token t" has one row per such subset in increasing
    order: 2^n rows for a fixed token, 2^(n-1) for a toggled one.
    """

    def __init__(self, n_fixed: int, n: int) -> None:
        if n_fixed < 1 or n < 0:
            raise ValueError("at least one fixed token (the property's) and n >= 0 are needed")
        self.n_fixed, self.n = n_fixed, n

    @property
    def size(self) -> int:
        return 2 ** self.n

    def rows(self, token: int) -> int:
        """How many subsets hold ``token``."""
        return self.size if token < self.n_fixed else self.size // 2

    def membership(self, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
        """(2^n, n_fixed + n): 1 where a subset holds a token (the fixed ones in all of them)."""
        s = torch.arange(self.size, device=device)
        bits = (s[:, None] >> torch.arange(self.n, device=device)) & 1
        fixed = torch.ones(self.size, self.n_fixed, dtype=bits.dtype, device=device)
        return torch.cat([fixed, bits], dim=1).to(dtype)

    def holding(self, table: torch.Tensor, owner: int | None, also: int) -> torch.Tensor:
        """The rows of ``table`` (over the subsets that hold ``owner``; None: over all subsets)
        whose subsets also hold token ``also``: a view shaped (2, ..., 2, *table.shape[1:]),
        the same grid for ``holding(a, i, j)`` and ``holding(b, j, i)``."""
        dims = list(range(self.n - 1, -1, -1))  # grid dimension d holds bit dims[d]
        if owner is not None and owner >= self.n_fixed:
            dims.remove(owner - self.n_fixed)
        grid = table.view(*([2] * len(dims)), *table.shape[1:])
        if also >= self.n_fixed and also != owner:
            grid = grid.select(dims.index(also - self.n_fixed), 1)
        return grid


def subset_predictions(mixer: Mixer, states: torch.Tensor, n_fixed: int = 1, *,
                       varying: torch.Tensor | None = None) -> torch.Tensor:
    """(R, 2^n) predictions of each of R recipes with every subset of its toggled tokens.

    ``states`` (R, n_fixed + n, mixer_dim) are input token states (``Mixer.token_states``) with
    the property token first; the first ``n_fixed`` tokens are in every subset, the other n are
    toggled. Column ``s`` is the prediction of the recipe holding the toggled tokens whose bits
    are set in ``s``: equal to ``mixer.run_blocks`` on those tokens alone, to float rounding.
    ``varying`` (R, 2^n, mixer_dim) gives token 1 (a fixed one) a state of its own in each
    subset, e.g. a balance ingredient topped up with what the absent ones leave; its row in
    ``states`` is then not read. No autograd, no dropout.
    """
    R, K, _ = states.shape
    grid = SubsetGrid(n_fixed, K - n_fixed)
    if varying is not None:
        shape = (R, grid.size, states.shape[-1])
        if n_fixed < 2 or varying.shape != shape:
            raise ValueError(f"varying must be (R, 2^n, mixer_dim) = {shape} for a fixed token 1")
        varying = varying.transpose(0, 1).contiguous()  # (2^n, R, D): a table like the others
    with torch.no_grad():
        if not len(mixer.blocks):
            out = mixer.head(mixer.norm(states[:, 0])).squeeze(-1)
            return out[:, None].expand(R, grid.size).contiguous()
        last = len(mixer.blocks) - 1
        queries = [0] if last == 0 else list(range(K))
        tokens = _first_block(mixer, states, grid, queries, varying)
        if tokens is None:  # scores too wide for one shift per query: softmax per subset
            tables = [_table(states[:, t], grid.rows(t)) for t in range(K)]
            if varying is not None:
                tables[1] = varying
            tokens = _later_block(mixer.blocks[0], tables, grid, queries)
        for i, block in enumerate(mixer.blocks[1:], start=1):
            queries = [0] if i == last else list(range(K))
            tokens = _later_block(block, tokens, grid, queries)
        out = mixer.head(mixer.norm(tokens[0])).squeeze(-1)  # (2^n, R)
    return out.T.contiguous()


def _first_block(mixer: Mixer, x: torch.Tensor, grid: SubsetGrid, queries: list[int],
                 varying: torch.Tensor | None) -> list[torch.Tensor | None] | None:
    """Each query token's state after the first block, (rows holding it, R, D), from scores
    computed once per recipe and summed over every subset by one product per query; None where
    the scores spread too wide for that (:data:`SAFE_EXPONENT`). A ``varying`` token 1 (a
    table over all subsets) adds its own key to each subset's sums and asks with its own
    query in each subset."""
    block = mixer.blocks[0]
    R, K, D = x.shape
    H = block.attn.n_heads
    dh = D // H
    q, k, v = mixer.first_qkv(x).view(R, K, 3, H, dh).unbind(2)  # (R, K, H, dh)
    scores = torch.einsum("rihd,rjhd->rhij", q, k) * dh ** -0.5  # (R, H, query, key)
    members = grid.membership(x.dtype, x.device)
    if varying is not None:
        vq, vk, vv = mixer.first_qkv(varying).view(grid.size, R, 3, H, dh).unbind(2)
        scores[..., 1] = float("-inf")  # token 1's key is the subset's own, added below
        members[:, 1] = 0
        to_varying = torch.einsum("rhid,crhd->crhi", q.transpose(1, 2), vk) * dh ** -0.5
        top = torch.maximum(scores.amax(-1), to_varying.amax(0))  # (R, H, query)
        low = torch.minimum(scores.nan_to_num(neginf=float("inf")).amin(-1), to_varying.amin(0))
    else:
        top, low = scores.amax(-1), scores.amin(-1)
    if bool((top - low).max() > SAFE_EXPONENT):
        return None
    weights = (scores - top[..., None]).exp()
    values = v.transpose(1, 2)  # (R, H, key, dh)
    out_weight = block.attn.out.weight.T.contiguous()
    residual = x + block.attn.out.bias  # (R, K, D)
    tokens: list[torch.Tensor | None] = [None] * K
    for i in (queries if varying is None else [q for q in queries if q != 1]):
        w = weights[:, :, i, :, None]  # (R, H, key, 1)
        per_key = torch.cat([w * values, w], dim=-1).permute(2, 0, 1, 3)  # (key, R, H, dh + 1)
        rows = grid.holding(members, None, i).reshape(-1, K)  # (subsets holding i, key)
        sums = (rows @ per_key.reshape(K, -1)).view(len(rows), R, H, dh + 1)
        if varying is not None:
            e = (to_varying[..., i] - top[..., i]).exp_()  # (2^n, R, H)
            own = torch.cat([e[..., None] * vv, e[..., None]], dim=-1)
            sums.view(grid.holding(own, None, i).shape).add_(grid.holding(own, None, i))
        y = (sums[..., :dh] / sums[..., dh:]).view(-1, D)
        h = (y @ out_weight).view(len(rows), R, D).add_(residual[:, i])
        tokens[i] = _feed_forward(block, h)
    if varying is not None and 1 in queries:
        keys = [_table(k[:, j], grid.rows(j)) for j in range(K)]
        vals = [_table(v[:, j], grid.rows(j)) for j in range(K)]
        keys[1], vals[1] = vk, vv
        y = _attention(vq * dh ** -0.5, keys, vals, grid, 1).view(-1, D)
        h = (y @ out_weight).view(grid.size, R, D).add_(varying).add_(block.attn.out.bias)
        tokens[1] = _feed_forward(block, h)
    return tokens


def _table(state: torch.Tensor, rows: int) -> torch.Tensor:
    """A per-recipe tensor (R, ...) repeated into a table over ``rows`` subsets."""
    return state.expand(rows, *state.shape).contiguous()


def _later_block(block: Block, x: list[torch.Tensor | None], grid: SubsetGrid,
                 queries: list[int]) -> list[torch.Tensor | None]:
    """States after a block that is not the first, for the ``queries`` tokens: each key's
    softmax share is added into the rows of the subsets holding both it and the query."""
    D = x[0].shape[-1]
    H = block.attn.n_heads
    dh = D // H
    w_q, w_k, w_v = (w.T.contiguous() for w in block.attn.qkv.weight.split(D))
    b_q, _, b_v = block.attn.qkv.bias.split(D)  # the key bias adds a constant to all of a
    # query's scores, which the softmax cancels; the value bias is added once, after it
    normed = [block.norm1(t) for t in x]
    keys = [(t.reshape(-1, D) @ w_k).view(*t.shape[:-1], H, dh) for t in normed]
    values = [(t.reshape(-1, D) @ w_v).view(*t.shape[:-1], H, dh) for t in normed]
    out_weight = block.attn.out.weight.T.contiguous()
    tokens: list[torch.Tensor | None] = [None] * len(x)
    for i in queries:
        query = torch.addmm(b_q, normed[i].reshape(-1, D), w_q).mul_(dh ** -0.5)
        query = query.view(*x[i].shape[:-1], H, dh)
        y = _attention(query, keys, values, grid, i).view(-1, D).add_(b_v)
        h = (y @ out_weight).view(x[i].shape).add_(x[i]).add_(block.attn.out.bias)
        tokens[i] = _feed_forward(block, h)
    return tokens


def _attention(query: torch.Tensor, keys: list[torch.Tensor], values: list[torch.Tensor],
               grid: SubsetGrid, i: int) -> torch.Tensor:
    """Token ``i``'s softmax attention in every subset that holds it, (rows holding i, R, H,
    dh), from its scaled ``query`` and each token's ``keys`` / ``values`` (tables over the
    subsets holding that token, (rows, R, H, dh)): each key's share is added into the rows of
    the subsets that hold both tokens."""
    scores = [(grid.holding(query, i, j) * grid.holding(keys[j], j, i)).sum(-1)
              for j in range(len(keys))]  # each over the subsets holding i and j, (..., R, H)
    top = scores[i].reshape(query.shape[:-1]).clone()  # (rows holding i, R, H)
    for j, s in enumerate(scores):
        part = grid.holding(top, i, j)
        torch.maximum(part, s, out=part)
    total = torch.zeros_like(top)
    mixed = torch.zeros_like(query)
    for j, s in enumerate(scores):
        e = s.sub_(grid.holding(top, i, j)).exp_()
        grid.holding(total, i, j).add_(e)
        grid.holding(mixed, i, j).addcmul_(e[..., None], grid.holding(values[j], j, i))
    return mixed.div_(total[..., None])


def _feed_forward(block: Block, h: torch.Tensor) -> torch.Tensor:
    """``h + ffn(norm2(h))``, updating ``h`` (a tensor of the caller's own) in place."""
    if block.ffn is None:
        return h
    first, _, second = block.ffn
    flat = h.view(-1, h.shape[-1])
    hidden = torch.addmm(first.bias, block.norm2(h).reshape(-1, h.shape[-1]), first.weight.T)
    flat.addmm_(torch.ops.aten.gelu_(hidden), second.weight.T)
    return h.add_(second.bias)
