"""Batched model evaluation of candidate recipes against the targets.

Thousands of candidates go through the Mixer in one forward call per chunk: the (N, V) amount
matrix is turned straight into padded id / amount / mask tensors (no per-recipe Python), and
every targeted property is predicted in the same batch. Every call is counted, so a search's
budget is the number of candidate recipes scored.

The prediction is the one ``xai predict`` states (:func:`models.calibration.predict_table`):
the model's Mixer, or for a cross-fitted ensemble the mean of its members in standardised
units (the point its conformal interval is built around), so a design is searched, judged
against its targets and reported on one and the same number.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import numpy as np
import torch

from models.modes import evaluation
from xai.inverse.problem import DesignSpace, Evaluation
from xai.inverse.targets import Target

__all__ = ["Scorer"]


class Scorer:
    """Score recipes of ``space`` with ``model`` (a ``TrainedModel``) against ``targets``.

    ``margin`` (0 to 0.5) shrinks each target range from both ends, as a share of its width in
    standardised units, for the distance the search minimises (``search_distance``): aiming
    inside the range leaves room for the model's error. ``target_distance`` always uses the
    full range.
    """

    def __init__(self, model, space: DesignSpace, targets: Sequence[Target], *,
                 margin: float = 0.35, chunk: int = 4096) -> None:
        self.model, self.space, self.targets = model, space, list(targets)
        self.margin, self.chunk = margin, chunk
        self.calls = 0  # candidate recipes scored so far

    # -- set-up -------------------------------------------------------------------------------

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(T,) target bounds in standardised units (-inf / inf where a log bound is <= 0)."""
        if not hasattr(self, "_bounds"):
            enc = self.model.encoder
            lows, highs = [], []
            for t in self.targets:
                lows.append(self._standard(enc, t.property, t.low))
                highs.append(self._standard(enc, t.property, t.high))
            self._bounds = np.array(lows), np.array(highs)
        return self._bounds

    @staticmethod
    def _standard(enc, prop: str, value: float) -> float:
        if enc.scalers[prop].transform == "log" and value <= 0:
            return -np.inf
        return float(enc.to_standard([prop], np.array([value]))[0])

    def search_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.bounds
        width = np.where(np.isfinite(high - low), high - low, 0.0)
        return low + self.margin * width, high - self.margin * width

    # -- evaluation ---------------------------------------------------------------------------

    def predict_z(self, x: np.ndarray, properties: Sequence[str] | None = None) -> np.ndarray:
        """(N, P) standardised predictions of ``properties`` (default: the targets') for the
        recipes ``x`` (N, V); not counted against the budget."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        properties = list(properties or [t.property for t in self.targets])
        enc = self.model.encoder
        ensemble = getattr(self.model, "ensemble", None)
        mixers = list(ensemble.mixers) if ensemble is not None else [self.model.mixer]
        codes = np.array([enc.ingredient_id(c) for c in self.space.codes], dtype=np.int64)
        prop_ids = np.array([enc.property_id(p) for p in properties], dtype=np.int64)
        out = np.empty((len(x), len(properties)))
        with ExitStack() as stack:
            for m in mixers:
                stack.enter_context(evaluation(m))
            stack.enter_context(torch.inference_mode())
            for s in range(0, len(x), self.chunk):
                block = x[s:s + self.chunk]
                ids, amounts, mask = self._tensors(block, codes, enc.amount_scale)
                n, P = len(block), len(properties)
                args = (torch.from_numpy(np.repeat(prop_ids[None, :], n, 0).reshape(-1)),
                        ids.repeat_interleave(P, 0), amounts.repeat_interleave(P, 0),
                        mask.repeat_interleave(P, 0))
                # (K, n * P) ordered recipe-major; the members' mean, as predict_table takes it
                pred = np.stack([m(*args).double().numpy() for m in mixers]).mean(0)
                out[s:s + n] = pred.reshape(n, P)
        return out

    @staticmethod
    def _tensors(x: np.ndarray, codes: np.ndarray, scale: float):
        present = x > 0
        width = max(int(present.sum(1).max()) if len(x) else 1, 1)
        order = np.argsort(~present, axis=1, kind="stable")[:, :width]  # present slots first
        mask = np.take_along_axis(present, order, 1)
        ids = np.where(mask, codes[order], 0)
        amounts = np.where(mask, np.take_along_axis(x, order, 1) / scale, 0.0)
        return (torch.from_numpy(ids), torch.from_numpy(amounts.astype(np.float32)),
                torch.from_numpy(mask))

    def target_distance(self, z: np.ndarray) -> np.ndarray:
        """(N, T) how far standardised predictions ``z`` (N, T) lie outside the full target
        ranges (0 inside)."""
        low, high = self.bounds
        return np.clip(low - z, 0, None) + np.clip(z - high, 0, None)

    def evaluate(self, x: np.ndarray, *, count: bool = True) -> Evaluation:
        """Score candidates ``x`` (N, V); counted against the budget unless ``count=False``."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if count:
            self.calls += len(x)
        z = self.predict_z(x)
        low, high = self.bounds
        s_low, s_high = self.search_bounds()
        target = self.target_distance(z)
        search = (np.clip(s_low - z, 0, None) + np.clip(z - s_high, 0, None)).sum(1)
        data, _ = self.space.nearest_training(x, k=1)
        changes = (self.space.change_size(x) if self.space.start is not None
                   else np.zeros(len(x)))
        half = np.where(np.isfinite(high - low), (high - low) / 2, np.inf)
        centre = np.where(np.isfinite(half), (low + high) / 2, np.where(np.isfinite(high),
                                                                        high, low))
        off = np.abs(z - centre)
        central = np.where(half > 0, off / np.where(half > 0, half, 1.0), np.where(off > 0,
                                                                                 np.inf, 0.0))
        return Evaluation(z=z, target_distance=target, search_distance=search,
                          data_distance=data[:, 0], changes=changes,
                          centrality=central.max(1))

    def to_original(self, z: np.ndarray, properties: Sequence[str] | None = None) -> np.ndarray:
        """(N, P) standardised -> original units."""
        properties = list(properties or [t.property for t in self.targets])
        z = np.atleast_2d(z)
        return np.column_stack([self.model.encoder.from_standard([p] * len(z), z[:, i])
                                for i, p in enumerate(properties)]) if len(z) else z.copy()
