"""What the Mixer's attention looks at: per-head maps, attention rollout, and how much the property
token reads the recipe at all.

Token 0 is the property token, tokens 1..T the recipe's ingredient slots. The prediction is read
from the property token's final state alone, so the share of its attention that goes to ingredient
tokens (rather than to itself) says whether the model uses the recipe. A model that barely reads
the recipe predicts roughly a per-property constant, whatever its attributions say; it is flagged.

Padding never leaks in: padded keys get weight 0 from the model's mask, and every result here
zeroes padded rows and columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from models.mixer import Mixer
from models.modes import evaluation
from xai.cases import Cases, length_chunks
from xai.results import CaseResults

if TYPE_CHECKING:
    import pandas as pd

HEAD_FUSIONS = ("mean", "max", "min")
PROPERTY_TOKEN = "[property]"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class AttentionMaps(CaseResults):
    """Attention weights of N cases, every layer and head.

    ``weights`` is (N, L, H, T+1, T+1): query token by key token, token 0 the property token and
    token j + 1 ingredient slot j; rows and columns of padded slots are 0. ``tokens[i]`` names
    case i's tokens in order (``"[property]"`` then its ingredients); ``mask`` (N, T+1) is True
    for real tokens.
    """

    weights: np.ndarray
    mask: np.ndarray

    _per_case: ClassVar[dict[str, tuple[int, ...]]] = {"weights": (3, 4), "mask": (1,)}
    _extra_slots: ClassVar[int] = 1  # the property token comes before the ingredient slots

    @property
    def tokens(self) -> tuple[tuple[str, ...], ...]:
        """Each case's token names: ``"[property]"`` then its ingredients."""
        return tuple((PROPERTY_TOKEN, *names) for names in self.ingredients)

    def case(self, i: int) -> np.ndarray:
        """Case i's (L, H, S, S) weights trimmed to its own S = recipe size + 1 tokens."""
        s = len(self.ingredients[i]) + 1
        return self.weights[i, :, :, :s, :s]

    def rollout(self, *, head_fusion: str = "mean") -> np.ndarray:
        """(N, T+1, T+1) attention rollout of every case (see :func:`attention_rollout`)."""
        return attention_rollout(self.weights, head_fusion=head_fusion, mask=self.mask)

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per case x layer x head x query token x key token over the
        case's own tokens (``query`` / ``key`` name them, ``"[property]"`` for token 0)."""
        import pandas as pd

        parts = []
        n_layers, n_heads = self.weights.shape[1:3]
        for i, tokens in enumerate(self.tokens):
            s = len(tokens)
            layer, head, query, key = np.meshgrid(np.arange(n_layers), np.arange(n_heads),
                                                  np.arange(s), np.arange(s), indexing="ij")
            names = np.asarray(tokens, dtype=object)
            parts.append(pd.DataFrame({
                "formulation_id": self.formulation_ids[i], "property": self.properties[i],
                "layer": layer.ravel(), "head": head.ravel(), "query": names[query.ravel()],
                "key": names[key.ravel()], "weight": self.case(i).ravel().astype(np.float64),
            }))
        columns = ["formulation_id", "property", "layer", "head", "query", "key", "weight"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


@dataclass(frozen=True)
class ShareStats:
    """Distribution of one share over cases: mean and the quantiles in ``QUANTILES``."""

    mean: float
    quantiles: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"mean": self.mean,
                "quantiles": {f"q{round(q * 100):02d}": v
                              for q, v in zip(QUANTILES, self.quantiles, strict=True)}}


@dataclass(frozen=True)
class AttentionSummary:
    """How much the property token attends to ingredient tokens, over a set of cases.

    ``layer_share`` (N, L) is, per case and layer, 1 minus the head-averaged weight the property
    token puts on itself; ``head_share`` (L, H) the mean over cases per head; ``rollout_share``
    (N,) the same after rollout through every layer. ``flagged`` is True when the mean rollout
    share is below ``threshold``: the model barely reads the recipe.
    """

    formulation_ids: tuple[str, ...]
    properties: tuple[str, ...]
    layer_share: np.ndarray
    head_share: np.ndarray
    rollout_share: np.ndarray
    head_fusion: str
    threshold: float
    settings: dict = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        if len(self.rollout_share) == 0:
            return False
        return bool(np.mean(self.rollout_share) < self.threshold)

    def per_property(self) -> dict[str, dict]:
        """Per property: number of cases, mean share per layer and mean share after rollout."""
        props = np.asarray(self.properties, dtype=object)
        out = {}
        for prop in sorted(set(self.properties)):
            rows = props == prop
            out[prop] = {
                "n": int(rows.sum()),
                "layer_share": self.layer_share[rows].mean(0).tolist(),
                "rollout_share": float(self.rollout_share[rows].mean()),
                "flagged": bool(self.rollout_share[rows].mean() < self.threshold),
            }
        return out

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-case arrays)."""
        return {
            "n_cases": len(self.formulation_ids),
            "head_fusion": self.head_fusion,
            "threshold": self.threshold,
            "flagged": self.flagged,
            "message": (
                f"the property token puts on average {np.mean(self.rollout_share):.3f} of its "
                f"rolled-out attention on ingredients (< {self.threshold}): the model barely "
                "reads the recipe" if self.flagged else ""
            ) if len(self.rollout_share) else "",
            "layers": [_stats(self.layer_share[:, layer]).to_dict()
                       for layer in range(self.layer_share.shape[1])],
            "heads": self.head_share.tolist(),
            "rollout": _stats(self.rollout_share).to_dict(),
            "per_property": self.per_property(),
            "settings": dict(self.settings),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per case: ``formulation_id``, ``property``, ``rollout_share`` and
        ``layer_share_<l>`` for each layer. (Not a :class:`~xai.results.CaseResults`: its
        ``head_share`` is a mean over all its cases, which a subset would not update.)"""
        import pandas as pd

        frame = pd.DataFrame({"formulation_id": list(self.formulation_ids),
                              "property": list(self.properties),
                              "rollout_share": self.rollout_share})
        for layer in range(self.layer_share.shape[1]):
            frame[f"layer_share_{layer}"] = self.layer_share[:, layer]
        return frame


def attention_rollout(
    weights: np.ndarray | torch.Tensor,
    *,
    head_fusion: str = "mean",
    mask: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) through every layer.

    Heads are fused (mean, max or min), the identity is added for the residual connection, rows
    are re-normalised to sum to 1, and the layers are multiplied from the first up:
    ``R = A_L ... A_2 A_1``. Row 0 of ``R`` is then how the property token's final state mixes the
    input tokens.

    Parameters
    ----------
    weights : (..., L, H, S, S) attention weights, one case or a batch of cases.
    head_fusion : how heads are combined: ``mean``, ``max`` or ``min``.
    mask : optional (..., S) bool, True for real tokens; rows and columns of the others are set
        to 0 in the result (they never reach real rows anyway, since padded keys carry weight 0).

    Returns
    -------
    (..., S, S) rollout; every real row sums to 1.
    """
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"head_fusion must be one of {HEAD_FUSIONS}, not {head_fusion!r}")
    w = weights.detach().cpu() if torch.is_tensor(weights) else torch.as_tensor(
        np.asarray(weights))
    w = w.to(torch.float64)
    if w.dim() < 4:
        raise ValueError(f"weights must be (..., L, H, S, S), got shape {tuple(w.shape)}")
    fused = getattr(w, head_fusion)(dim=-3)
    fused = fused if head_fusion == "mean" else fused.values  # (..., L, S, S)
    s = fused.shape[-1]
    eye = torch.eye(s, dtype=fused.dtype)
    if mask is not None:
        m = (mask.cpu() if torch.is_tensor(mask) else torch.as_tensor(np.asarray(mask))).bool()
        keep = (m.unsqueeze(-1) & m.unsqueeze(-2)).to(fused.dtype)  # (..., S, S)
        fused = fused * keep.unsqueeze(-3)
        eye = eye * keep
    steps = fused + eye.unsqueeze(-3)
    sums = steps.sum(-1, keepdim=True)
    steps = steps / torch.where(sums > 0, sums, torch.ones_like(sums))
    rollout = steps[..., 0, :, :]
    for layer in range(1, steps.shape[-3]):
        rollout = steps[..., layer, :, :] @ rollout
    return rollout.numpy()


@torch.no_grad()
def attention_maps(mixer: Mixer, cases: Cases, *, batch_size: int = 1024) -> AttentionMaps:
    """Per-layer, per-head attention weights of every case, padding rows and columns zeroed.

    Memory grows as N x L x H x (T+1)^2; for summaries over many cases use
    :func:`attention_summary`, which never holds all maps at once.
    """
    n, width = len(cases), cases.ids.shape[1] + 1
    config = mixer.config
    weights = np.zeros((n, config.n_layers, config.n_heads, width, width), dtype=np.float32)
    mask = np.zeros((n, width), dtype=bool)
    for chunk, token_mask, rows in _batches(mixer, cases, batch_size):
        s = chunk.shape[-1]
        weights[rows, :, :, :s, :s] = chunk.cpu().numpy()
        mask[rows, :s] = token_mask.cpu().numpy()
    return AttentionMaps(
        formulation_ids=cases.formulation_ids,
        properties=cases.properties,
        ingredients=cases.ingredients,
        weights=weights,
        mask=mask,
    )


@torch.no_grad()
def attention_summary(
    mixer: Mixer,
    cases: Cases,
    *,
    head_fusion: str = "mean",
    threshold: float = 0.1,
    batch_size: int = 1024,
    progress: bool = False,
) -> AttentionSummary:
    """The property token's share of attention on ingredient tokens, per layer and after rollout.

    Computed batch by batch, so it scales to whole datasets. ``threshold`` sets the flag for a
    model that barely reads the recipe (mean share after rollout below it).
    """
    n, n_layers, n_heads = len(cases), mixer.config.n_layers, mixer.config.n_heads
    layer_share = np.zeros((n, n_layers))
    head_total = np.zeros((n_layers, n_heads))
    rollout_share = np.zeros(n)
    for weights, token_mask, rows in _batches(mixer, cases, batch_size, progress=progress):
        self_weight = weights[:, :, :, 0, 0].double().cpu().numpy()  # (B, L, H)
        head_total += (1.0 - self_weight).sum(0)
        layer_share[rows] = 1.0 - self_weight.mean(-1)
        rollout = attention_rollout(weights, head_fusion=head_fusion, mask=token_mask)
        rollout_share[rows] = 1.0 - rollout[:, 0, 0]
    return AttentionSummary(
        formulation_ids=cases.formulation_ids,
        properties=cases.properties,
        layer_share=layer_share,
        head_share=head_total / max(n, 1),
        rollout_share=rollout_share,
        head_fusion=head_fusion,
        threshold=threshold,
        settings={"batch_size": batch_size, "quantiles": list(QUANTILES)},
    )


def _batches(mixer: Mixer, cases: Cases, batch_size: int, *, progress: bool = False):
    """Yield (weights (B, L, H, S, S) with padding zeroed, token mask (B, S), case rows) per
    chunk of cases of similar length, each trimmed to its longest recipe."""
    with evaluation(mixer):
        lengths = cases.mask.sum(1).cpu().numpy()
        chunks = length_chunks(lengths, np.arange(len(cases)), batch_size)
        for rows in tqdm(chunks, desc="attention", unit="batch", disable=not progress,
                         leave=False):
            part = cases.select(rows)
            _, per_layer = mixer(part.property_ids, part.ids, part.amounts, part.mask,
                                 return_attention=True)
            token_mask = torch.cat([torch.ones_like(part.mask[:, :1]), part.mask], dim=1)
            weights = torch.stack(per_layer, dim=1)  # (B, L, H, S, S)
            keep = (token_mask[:, :, None] & token_mask[:, None, :])[:, None, None]
            yield weights * keep, token_mask, rows


def _stats(values: np.ndarray) -> ShareStats:
    if len(values) == 0:
        return ShareStats(float("nan"), tuple(float("nan") for _ in QUANTILES))
    return ShareStats(float(np.mean(values)),
                      tuple(float(v) for v in np.quantile(values, QUANTILES)))
