"""The Mixer: self-attention over one property token and a recipe's ingredient tokens.

Token 0 is the learned vector of the property to predict; tokens 1..T are the ingredients present,
each its learned code vector combined with its amount. There is no positional encoding, so the
prediction does not depend on ingredient order, and padded slots are masked out of attention, so
padding does not change it either. The property token's final state goes through a small head to one
scalar in that property's standardised units.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from models.attention import Attention

AMOUNT_ENCODINGS = ("multiply", "concat", "fourier")
CODE_ACTIVATIONS = {"none": nn.Identity, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


@dataclass(frozen=True)
class MixerConfig:
    """Shape of a Mixer. ``n_ingredients`` counts the padding row (id 0)."""

    n_ingredients: int
    n_properties: int
    base_dim: int = 16
    mixer_dim: int = 32
    n_layers: int = 2
    n_heads: int = 4
    amount_encoding: str = "fourier"
    fourier_frequencies: int = 4
    # concat and fourier also get ln(1 + amount / log_dose_floor), a dose feature that resolves
    # the 0.1-1 wt% ingredients fractions cannot; 0 leaves it out (checkpoints before it existed).
    log_dose_floor: float = 1e-3
    code_activation: str = "none"
    layer_norm: bool = False
    dropout: float = 0.0
    ffn_ratio: int = 2
    head_hidden: int = 32
    # numeric ingredient descriptors (ingredients.csv columns) added to each code vector through
    # a learned projection of (standardised value, present mask); () for codes alone
    descriptor_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.amount_encoding not in AMOUNT_ENCODINGS:
            raise ValueError(f"amount_encoding must be one of {AMOUNT_ENCODINGS}, "
                             f"not {self.amount_encoding!r}")
        if self.code_activation not in CODE_ACTIVATIONS:
            raise ValueError(f"code_activation must be one of {tuple(CODE_ACTIVATIONS)}, "
                             f"not {self.code_activation!r}")
        if self.mixer_dim % self.n_heads:
            raise ValueError(f"mixer_dim {self.mixer_dim} is not divisible by "
                             f"n_heads {self.n_heads}")
        object.__setattr__(self, "descriptor_names", tuple(self.descriptor_names))
        if self.log_dose_floor < 0:
            raise ValueError("log_dose_floor must be 0 (off) or positive, "
                             f"not {self.log_dose_floor}")

    def to_dict(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    """Attention and a feed-forward layer, each added to the residual stream."""

    def __init__(self, config: MixerConfig) -> None:
        super().__init__()
        dim = config.mixer_dim
        norm = nn.LayerNorm if config.layer_norm else nn.Identity
        self.norm1 = norm(dim)
        self.attn = Attention(dim, config.n_heads, config.dropout)
        self.norm2 = norm(dim)
        hidden = config.ffn_ratio * dim
        self.ffn = (
            nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
            if config.ffn_ratio
            else None
        )
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        key_mask: torch.Tensor | None,
        *,
        return_weights: bool = False,
        first_query_only: bool = False,
        qkv: torch.Tensor | None = None,
        batched: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, S, D) -> (B, S, D), or (B, 1, D) for token 0 alone with ``first_query_only``;
        ``qkv``, ``batched``: see :meth:`Attention.forward`."""
        y, weights = self.attn(self.norm1(x), key_mask, return_weights=return_weights,
                               first_query_only=first_query_only, qkv=qkv, batched=batched)
        drop = (lambda t: t) if batched else self.drop
        x = (x[:, :1] if first_query_only else x) + drop(y)
        if self.ffn is not None:
            y = drop(self.ffn(self.norm2(x)))
            # without autograd x is a tensor of our own here and can be updated in place
            x = x + y if torch.is_grad_enabled() else x.add_(y)
        return x, weights


class Mixer(nn.Module):
    """Predicts one property of one recipe.

    Inputs: ``property_ids`` (B,), ``ingredient_ids`` (B, T) with 0 for padding, ``amounts``
    (B, T) normalised, ``mask`` (B, T) True where an ingredient is present.
    """

    def __init__(self, config: MixerConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.ingredient_embedding = nn.Embedding(c.n_ingredients, c.base_dim, padding_idx=0)
        self.property_embedding = nn.Embedding(c.n_properties, c.mixer_dim)
        self.code_activation = CODE_ACTIVATIONS[c.code_activation]()
        n_desc = len(c.descriptor_names)
        if n_desc:
            # (n_ingredients, n_desc) standardised values and 1/0 masks, filled from the data
            # (models.descriptors) and saved with the weights; the padding row stays zero
            self.register_buffer("descriptors", torch.zeros(c.n_ingredients, n_desc))
            self.register_buffer("descriptor_mask", torch.zeros(c.n_ingredients, n_desc))
            # the standardisation, kept to place ingredients added after training
            self.register_buffer("descriptor_center", torch.zeros(n_desc))
            self.register_buffer("descriptor_scale", torch.ones(n_desc))
            self.describe = nn.Linear(2 * n_desc, c.base_dim)
        dose = int(c.amount_encoding != "multiply" and c.log_dose_floor > 0)
        extra = {"multiply": 0, "concat": 1 + dose, "fourier": 1 + dose + 2 * c.fourier_frequencies}
        self.project = nn.Linear(c.base_dim + extra[c.amount_encoding], c.mixer_dim)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(c.mixer_dim) if c.layer_norm else nn.Identity()
        self.head = nn.Sequential(
            nn.Linear(c.mixer_dim, c.head_hidden), nn.GELU(), nn.Linear(c.head_hidden, 1)
        )
        self.register_buffer(
            "frequencies",
            math.pi * 2.0 ** torch.arange(c.fourier_frequencies, dtype=torch.float32),
            persistent=False,
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # Without LayerNorm the residual stream grows with depth; shrink what each block adds.
        scale = 1.0 / math.sqrt(2 * max(self.config.n_layers, 1))
        for block in self.blocks:
            with torch.no_grad():
                block.attn.out.weight.mul_(scale)
                if block.ffn is not None:
                    block.ffn[-1].weight.mul_(scale)
        nn.init.normal_(self.property_embedding.weight, std=0.5)

    # -- the tables analysers read -------------------------------------------------------------

    def ingredient_vectors(self, ingredient_ids: torch.Tensor) -> torch.Tensor:
        """Code vectors after the code activation, (..., base_dim); with descriptors, the
        learned code plus the projection of the ingredient's descriptors and their mask."""
        code = self.ingredient_embedding(ingredient_ids)
        if self.config.descriptor_names:
            values = self.descriptors[ingredient_ids] * self.descriptor_mask[ingredient_ids]
            described = self.describe(torch.cat([values, self.descriptor_mask[ingredient_ids]],
                                                dim=-1))
            code = code + described * (ingredient_ids != 0).unsqueeze(-1).to(code.dtype)
        return self.code_activation(code)

    def ingredient_table(self) -> torch.Tensor:
        """(n_ingredients - 1, base_dim): every real ingredient's vector, padding row excluded."""
        device = self.property_embedding.weight.device
        ids = torch.arange(1, self.config.n_ingredients, device=device)
        return self.ingredient_vectors(ids)

    def property_table(self) -> torch.Tensor:
        """(n_properties, mixer_dim): every property's task vector."""
        return self.property_embedding.weight

    # -- forward -------------------------------------------------------------------------------

    def encode_amounts(self, vectors: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
        """Combine code vectors (B, T, base_dim) with amounts (B, T) into (B, T, mixer_dim)."""
        a = amounts.unsqueeze(-1).to(vectors.dtype)
        encoding = self.config.amount_encoding
        if encoding == "multiply":
            return self.project(vectors * a)
        parts = [vectors, a]
        if self.config.log_dose_floor > 0:
            parts.append(torch.log1p(a / self.config.log_dose_floor))
        if encoding == "fourier":
            angles = a * self.frequencies  # (B, T, K)
            parts += [angles.sin(), angles.cos()]
        return self.project(torch.cat(parts, dim=-1))

    def token_states(
        self,
        property_ids: torch.Tensor,
        ingredient_ids: torch.Tensor,
        amounts: torch.Tensor,
        *,
        ingredient_vectors: torch.Tensor | None = None,
        property_vectors: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, T+1, mixer_dim) input states: the property token, then one token per slot."""
        if ingredient_vectors is None:
            ingredient_vectors = self.ingredient_vectors(ingredient_ids)
        if property_vectors is None:
            property_vectors = self.property_embedding(property_ids)
        tokens = self.encode_amounts(ingredient_vectors, amounts)  # (B, T, D)
        return torch.cat([property_vectors.unsqueeze(1).to(tokens.dtype), tokens], dim=1)

    def first_qkv(self, x: torch.Tensor) -> torch.Tensor | None:
        """(..., 3 * mixer_dim): the first block's query/key/value projection of each token in
        ``x`` (None for a Mixer without blocks). It acts on each token separately, so callers that
        evaluate one recipe under many coalitions project each token once."""
        if not len(self.blocks):
            return None
        block = self.blocks[0]
        return block.attn.qkv(block.norm1(x))

    def run_blocks(
        self,
        x: torch.Tensor,
        *,
        key_mask: torch.Tensor | None = None,
        first_qkv: torch.Tensor | None = None,
        return_attention: bool = False,
        batched: bool = True,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Predictions (B,) from input states ``x`` (B, S, mixer_dim) whose token 0 is the
        property token.

        ``key_mask`` (B, S) is True for tokens that take part (None: all of them, which lets the
        caller drop absent tokens instead of masking them). ``first_qkv`` (B, S, 3 * mixer_dim)
        is the first block's projection of ``x`` when it is already known. ``batched`` uses the
        batched attention kernel (:func:`models.attention.attend`); with ``return_attention``
        also returns one (B, H, S, S) weight tensor per layer.
        """
        attention = []
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            # Only the property token's final state is read, so unless every attention map is
            # wanted, the last block computes token 0 alone.
            x, weights = block(x, key_mask, return_weights=return_attention,
                               first_query_only=i == last and not return_attention,
                               qkv=first_qkv if i == 0 else None, batched=batched)
            attention.append(weights)
        prediction = self.head(self.norm(x[:, 0])).squeeze(-1)
        return (prediction, attention) if return_attention else prediction

    def forward(
        self,
        property_ids: torch.Tensor,
        ingredient_ids: torch.Tensor,
        amounts: torch.Tensor,
        mask: torch.Tensor,
        *,
        ingredient_vectors: torch.Tensor | None = None,
        property_vectors: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Predictions (B,) in standardised units.

        ``ingredient_vectors`` (B, T, base_dim) or ``property_vectors`` (B, mixer_dim) replace the
        looked-up vectors (substitution experiments). With ``return_attention`` also returns one
        (B, H, T+1, T+1) weight tensor per layer; token 0 is the property token.
        """
        x = self.token_states(property_ids, ingredient_ids, amounts,
                              ingredient_vectors=ingredient_vectors,
                              property_vectors=property_vectors)
        return self.run_blocks(x, key_mask=_key_mask(mask), return_attention=return_attention,
                               batched=False)

    def property_output(
        self,
        property_ids: torch.Tensor,
        ingredient_ids: torch.Tensor,
        amounts: torch.Tensor,
        mask: torch.Tensor,
        *,
        ingredient_vectors: torch.Tensor | None = None,
        property_vectors: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The forward's predictions through the batched attention kernel, for the analysers'
        many small forwards; equal to ``self(...)`` in eval mode to float tolerance and
        differentiable with respect to ``amounts`` and the replacement vectors. Dropout is never
        applied, in training mode either."""
        x = self.token_states(property_ids, ingredient_ids, amounts,
                              ingredient_vectors=ingredient_vectors,
                              property_vectors=property_vectors)
        return self.run_blocks(x, key_mask=_key_mask(mask))


def _key_mask(mask: torch.Tensor) -> torch.Tensor:
    """(B, T+1): the property token always takes part, then the ingredient mask."""
    present = torch.ones_like(mask[:, :1], dtype=torch.bool)
    return torch.cat([present, mask.bool()], dim=1)


def build_mixer(config: MixerConfig, *, seed: int) -> Mixer:
    """A freshly initialised Mixer whose weights depend only on ``seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Mixer(config)
