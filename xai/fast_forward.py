"""A Mixer forward that computes only what the property token's output needs.

The prediction is read from token 0 (the property token) after the last block, so the last block
needs keys and values for every token but a query, attention output and feed-forward layer for
token 0 alone. Attention runs as batched matrix products on the CPU and as the fused kernel on
GPUs (:func:`attend`). The first block's ``qkv`` projection acts on each token separately (its
norm is per token too), so callers that evaluate one recipe under many coalitions can project
each token once and pass the result in (``first_qkv``) instead of recomputing it for every
coalition.

The numbers equal ``mixer(...)`` in eval mode to float tolerance; dropout is never applied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.mixer import Mixer


def property_output(
    mixer: Mixer,
    property_ids: torch.Tensor,
    ingredient_ids: torch.Tensor,
    amounts: torch.Tensor,
    mask: torch.Tensor,
    *,
    ingredient_vectors: torch.Tensor | None = None,
    property_vectors: torch.Tensor | None = None,
) -> torch.Tensor:
    """Predictions (B,) in standardised units, as ``mixer(...)`` gives them in eval mode.

    Same inputs as ``Mixer.forward``: ``property_ids`` (B,), ``ingredient_ids`` / ``amounts`` /
    ``mask`` (B, T), optional replacement vectors. Differentiable with respect to ``amounts`` and
    the replacement vectors, so gradient methods can use it in place of the full forward.
    """
    x = token_states(mixer, property_ids, ingredient_ids, amounts,
                     ingredient_vectors=ingredient_vectors, property_vectors=property_vectors)
    present = torch.ones_like(mask[:, :1], dtype=torch.bool)
    key_mask = torch.cat([present, mask.bool()], dim=1)  # (B, T+1)
    return run_blocks(mixer, x, key_mask=key_mask)


def token_states(
    mixer: Mixer,
    property_ids: torch.Tensor,
    ingredient_ids: torch.Tensor,
    amounts: torch.Tensor,
    *,
    ingredient_vectors: torch.Tensor | None = None,
    property_vectors: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B, T+1, mixer_dim) input states: the property token, then one token per slot."""
    if ingredient_vectors is None:
        ingredient_vectors = mixer.ingredient_vectors(ingredient_ids)
    if property_vectors is None:
        property_vectors = mixer.property_embedding(property_ids)
    tokens = mixer.encode_amounts(ingredient_vectors, amounts)  # (B, T, D)
    return torch.cat([property_vectors.unsqueeze(1).to(tokens.dtype), tokens], dim=1)


def first_qkv(mixer: Mixer, x: torch.Tensor) -> torch.Tensor | None:
    """(..., 3 * mixer_dim): the first block's query/key/value projection of each token in ``x``
    (None for a Mixer without blocks)."""
    if not len(mixer.blocks):
        return None
    block = mixer.blocks[0]
    return block.attn.qkv(block.norm1(x))


SHORT_KEYS = 16
"""Up to this many keys, CPU attention scores are laid out (keys, queries); see :func:`attend`."""


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
           mask: torch.Tensor | None) -> torch.Tensor:
    """Softmax attention of ``q`` (B, H, Q, dh) over ``k``, ``v`` (B, H, S, dh); ``mask``
    (B, 1, 1, S) True where a key takes part, or None.

    The fused kernel on GPUs; on the CPU batched matrix products with the mask as an additive
    bias, which measured faster there for the few dozen tokens of a recipe. With at most
    :data:`SHORT_KEYS` keys the scores are laid out (keys, queries), so the softmax runs along a
    non-contiguous dimension and the CPU kernel vectorises across the queries instead of along
    rows shorter than its vector width (about 1.7x faster for recipes of 4-13 tokens).
    """
    if q.is_cuda:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    B, H, Q, dh = q.shape
    S = k.shape[2]
    queries, keys = q.reshape(B * H, Q, dh), k.reshape(B * H, S, dh)
    values = v.reshape(B * H, S, dh)
    short = S <= SHORT_KEYS
    shape = (B * H, S, Q) if short else (B * H, Q, S)
    if mask is None:
        bias = torch.zeros((), dtype=q.dtype, device=q.device).expand(shape)
    else:
        absent = ~(mask.transpose(-1, -2) if short else mask)  # (B, 1, S, 1) or (B, 1, 1, S)
        bias = torch.zeros(absent.shape, dtype=q.dtype, device=q.device).masked_fill_(
            absent, float("-inf")).expand(B, H, *shape[1:]).reshape(shape)
    if short:
        scores = torch.baddbmm(bias, keys, queries.transpose(1, 2), alpha=dh ** -0.5)
        weights = scores.softmax(1).transpose(1, 2)
    else:
        scores = torch.baddbmm(bias, queries, keys.transpose(1, 2), alpha=dh ** -0.5)
        weights = scores.softmax(-1)
    return torch.bmm(weights, values).view(B, H, Q, dh)


def run_blocks(
    mixer: Mixer,
    x: torch.Tensor,
    *,
    key_mask: torch.Tensor | None = None,
    first_qkv: torch.Tensor | None = None,
) -> torch.Tensor:
    """Predictions (B,) from input states ``x`` (B, S, mixer_dim) whose token 0 is the property
    token.

    ``key_mask`` (B, S) is True for tokens that take part (None: all of them, which lets the
    caller drop absent tokens instead of masking them). ``first_qkv`` (B, S, 3 * mixer_dim) is
    the first block's projection of ``x`` when it is already known.
    """
    blocks = mixer.blocks
    attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, S)
    # without autograd the residual stream is updated in place once it is a tensor of our own
    in_place = False
    for index, block in enumerate(blocks):
        attn = block.attn
        B, S, D = x.shape
        shape = (B, S, attn.n_heads, D // attn.n_heads)
        if index < len(blocks) - 1:
            qkv = first_qkv if index == 0 and first_qkv is not None else attn.qkv(block.norm1(x))
            q, k, v = qkv.view(B, S, 3, *shape[2:]).permute(2, 0, 3, 1, 4)  # (B, H, S, dh)
        else:
            # only the property token's query is read; keys and values are needed for all
            if index == 0 and first_qkv is not None:
                q, kv = first_qkv[:, :1, :D], first_qkv[..., D:]
            else:
                h = block.norm1(x)
                weight, bias = attn.qkv.weight, attn.qkv.bias
                q, kv = F.linear(h[:, :1], weight[:D], bias[:D]), F.linear(h, weight[D:], bias[D:])
            k, v = kv.reshape(B, S, 2, *shape[2:]).permute(2, 0, 3, 1, 4)  # (B, H, S, dh)
            q = q.reshape(B, 1, *shape[2:]).transpose(1, 2)  # (B, H, 1, dh)
            x = x[:, :1]
        y = attend(q, k, v, attn_mask)  # (B, H, S or 1, dh)
        y = attn.out(y.transpose(1, 2).reshape(B, x.shape[1], D))
        x = x.add_(y) if in_place else x + y
        in_place = not torch.is_grad_enabled()
        if block.ffn is not None:
            y = block.ffn(block.norm2(x))
            x = x.add_(y) if in_place else x + y
    return mixer.head(mixer.norm(x[:, 0])).squeeze(-1)
