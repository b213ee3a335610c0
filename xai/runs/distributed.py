"""Predictions and attributions partitioned across processes or machines.

``xai predict`` and ``xai explain`` cut their cases into chunks and run them through
:func:`xai.runs.partition.run_chunks`: ``jobs`` local processes (joblib's loky backend) or the
workers of a dask.distributed cluster. A worker receives the checkpoint as bytes (the files of
its folder, by relative path), writes them to a temporary folder and loads them with the normal
loader (:func:`models.checkpoint.load_model`, which never unpickles); only our own chunk objects
travel pickled (a model extended in memory travels as the files it saves to). Nothing a chunk
computes depends on the other chunks or on the worker: predictions are cut into chunks between
the forward calls one process would make (``models.training.forward_calls``), so every row runs
in the same call at the same row, and intervals and flags are computed row by row;
attributions are computed in chunks of ``CHUNK_CASES`` cases whatever the number of workers
(one process runs the same chunks in turn) and Shapley sampling draws from a generator per
case, so the results equal a single process's to the bit (with equal thread counts).

Why fixed chunks: the batched float32 kernels are not batch-invariant, so the same case
computed beside different cases, or at another row of a call, can differ in the last bits
(about 1e-9 in model units); with the chunks fixed, every case is always computed beside the
same cases at the same row.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xai.runs.partition import chunk_bounds, run_chunks

if TYPE_CHECKING:
    from models.trained import TrainedModel
    from xai.attribution.results import Attribution
    from xai.cases import Cases
    from xai.runs.settings import ExplainSettings

CHUNKS_PER_JOB = 4  # several chunks per worker even out predictions' chunks
CHUNK_CASES = 256  # attributions: cases per chunk, the same for any number of workers
PARTITIONED_METHODS = ("ig", "shapley")  # the reference methods seed by row: they run here


@dataclass(frozen=True)
class ModelFiles:
    """A checkpoint folder's files as bytes, keyed by their path relative to the folder."""

    files: dict[str, bytes]

    @classmethod
    def read(cls, folder: str | Path) -> ModelFiles:
        folder = Path(folder)
        return cls({p.relative_to(folder).as_posix(): p.read_bytes()
                    for p in sorted(folder.rglob("*")) if p.is_file()})

    @classmethod
    def of(cls, model: TrainedModel) -> ModelFiles:
        """``model``'s files as :func:`models.checkpoint.save_model` writes them: for a model
        changed in memory (extended by unseen ingredients), which its folder does not hold."""
        from models.checkpoint import save_model

        with tempfile.TemporaryDirectory(prefix="xai-model-") as tmp:
            return cls.read(save_model(model, Path(tmp, "model")))

    def load(self) -> TrainedModel:
        """The model, loaded by :func:`models.checkpoint.load_model` from a temporary copy."""
        from models.checkpoint import load_model

        with tempfile.TemporaryDirectory(prefix="xai-model-") as tmp:
            for name, data in self.files.items():
                path = Path(tmp, name)
                if Path(tmp) not in path.resolve().parents:
                    raise ValueError(f"checkpoint file name {name!r} leaves its folder")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            return load_model(tmp)


@dataclass(frozen=True)
class Partition:
    """How a run is spread: ``jobs`` local processes, or a Dask cluster at ``scheduler`` (then
    ``jobs`` sizes the chunks: ``CHUNKS_PER_JOB`` per job); ``threads`` per local worker (None:
    leave the workers' own setting)."""

    jobs: int = 1
    scheduler: str | None = None
    threads: int | None = None

    @property
    def parallel(self) -> bool:
        return self.scheduler is not None or self.jobs > 1

    @property
    def n_chunks(self) -> int:
        return CHUNKS_PER_JOB * max(self.jobs, 1)

    def to_dict(self) -> dict:
        return {"jobs": self.jobs, "scheduler": self.scheduler,
                "threads_per_worker": self.threads}


# ---- predict ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _PredictChunk:
    model: ModelFiles
    recipes: dict
    rows: pd.DataFrame
    coverage: float | None
    threads: int | None


def _predict_chunk(chunk: _PredictChunk) -> pd.DataFrame:
    from models.calibration import predict_table

    _limit_threads(chunk.threads)
    return predict_table(chunk.model.load(), chunk.recipes, chunk.rows, coverage=chunk.coverage)


def predict_partitioned(model: ModelFiles, recipes: Mapping[str, tuple], rows: pd.DataFrame,
                        partition: Partition, *, coverage: float | None = None) -> pd.DataFrame:
    """:func:`models.calibration.predict_table` of ``rows`` (``formulation_id, property``;
    ``recipes`` by formulation id) in chunks of whole forward calls: the predictions, the
    members' spread, the intervals at ``coverage`` and the applicability flags, the same table
    as one call.

    Each chunk holds the rows of consecutive calls of ``models.training.forward_calls``, in
    their order, so a worker runs every row in the call and at the row one process would (a
    prediction can depend on its row in a call); intervals and flags are computed row by row.
    """
    import torch

    from models.training import forward_calls

    rows = rows.reset_index(drop=True)
    lengths = torch.as_tensor([len(recipes[f][0]) for f in rows["formulation_id"]],
                              dtype=torch.long)
    calls = [index.numpy() for _, index in forward_calls(lengths)]
    order, chunks = [], []
    for a, b in chunk_bounds(len(calls), partition.n_chunks):
        index = np.concatenate(calls[a:b])
        order.append(index)
        part = rows.iloc[index].reset_index(drop=True)
        chunks.append(_PredictChunk(model, {f: recipes[f] for f in part["formulation_id"]}, part,
                                    coverage, partition.threads))
    if not chunks:  # no rows: the empty table with its columns
        return _predict_chunk(_PredictChunk(model, {}, rows, coverage, None))
    parts = run_chunks(_predict_chunk, chunks, jobs=partition.jobs,
                       scheduler=partition.scheduler)
    table = pd.concat(parts, ignore_index=True)
    return table.iloc[np.argsort(np.concatenate(order))].reset_index(drop=True)


# ---- explain ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _AttributionChunk:
    model: ModelFiles
    cases: Cases
    method: str
    config: ExplainSettings
    threads: int | None


def _attribution_chunk(chunk: _AttributionChunk) -> Attribution:
    from models.modes import evaluation
    from xai.runs.explain import method_runners

    _limit_threads(chunk.threads)
    model = chunk.model.load()
    with evaluation(model.mixer):
        return method_runners(chunk.config)[chunk.method](model.mixer, chunk.cases, False)


class PartitionedAttributions:
    """The main attributions of an explain run, computed in chunks of ``CHUNK_CASES`` cases:
    on ``partition``'s workers, or here one chunk after another when it is not parallel (then
    ``model`` may be the loaded model itself rather than its files).

    Called by :func:`xai.runs.explain.explain` as ``attribute(name, cases, config)``; returns
    None for methods it does not partition (the reference implementations, which seed by row),
    which then run in this process.
    """

    def __init__(self, model: ModelFiles | TrainedModel, partition: Partition) -> None:
        self.model = model
        self.partition = partition

    def __call__(self, name: str, cases: Cases, config: ExplainSettings) -> Attribution | None:
        if name not in PARTITIONED_METHODS:
            return None
        bounds = fixed_bounds(len(cases), CHUNK_CASES)
        if not self.partition.parallel:
            from xai.runs.explain import method_runners

            mixer = self.model.load().mixer if isinstance(self.model, ModelFiles) else (
                self.model.mixer)
            from tqdm.auto import tqdm

            run = method_runners(config)[name]
            parts = [run(mixer, slice_cases(cases, a, b), False)
                     for a, b in tqdm(bounds, desc=name, unit="chunk",
                                      disable=not config.progress)]
        else:
            if not isinstance(self.model, ModelFiles):
                raise TypeError("workers need the checkpoint's files (ModelFiles)")
            chunks = [_AttributionChunk(self.model, slice_cases(cases, a, b), name, config,
                                        self.partition.threads) for a, b in bounds]
            parts = run_chunks(_attribution_chunk, chunks, jobs=self.partition.jobs,
                               scheduler=self.partition.scheduler)
        return concat_attributions(parts, width=int(cases.ids.shape[1]))

    def note(self, n_cases: int) -> str:
        where = (f"the Dask cluster at {self.partition.scheduler}" if self.partition.scheduler
                 else f"{self.partition.jobs} local processes" if self.partition.jobs > 1
                 else "this process")
        return (f"Integrated Gradients and Shapley values (attributions.csv and completeness) "
                f"were computed on {where}, in chunks of {CHUNK_CASES} of the {n_cases} cases "
                f"(the same chunks for any number of workers) with Shapley samples seeded per "
                f"case, so they are identical to a run on one process with as many threads as "
                f"each worker (thread counts can change the last bits); the attention summary, "
                f"sanity check, deletion curves, interactions and ground-truth scores were "
                f"computed by the coordinating process on its seeded sample")


def fixed_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``n`` items in contiguous chunks of ``size`` (the last one shorter)."""
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def slice_cases(cases: Cases, start: int, stop: int) -> Cases:
    """Cases ``start:stop`` at the full slot width (``Cases.select`` would trim it)."""
    rows = slice(start, stop)
    changes = {}
    for f in fields(cases):
        value = getattr(cases, f.name)
        if f.name != "balance_ingredient":
            changes[f.name] = value[rows]
    return replace(cases, **changes)


def concat_attributions(parts: Sequence[Attribution], *, width: int) -> Attribution:
    """One Attribution from chunks of cases, in order, padded to ``width`` slots with NaN.

    The method is ``shapley`` where chunks mixed enumerated and sampled Shapley values (as one
    call over every case would name it)."""
    first = parts[0]
    changes: dict = {
        name: tuple(x for p in parts for x in getattr(p, name))
        for name in ("formulation_ids", "properties", "ingredients", "raw_amounts")
    }
    for name, slot_axes in first._per_case.items():
        if name in changes or getattr(first, name) is None:
            continue
        arrays = [getattr(p, name) for p in parts]
        if slot_axes:
            arrays = [_pad(a, width) for a in arrays]
        changes[name] = np.concatenate(arrays)
    methods = {p.method for p in parts}
    if len(methods) > 1:
        if not methods <= {"shapley", "shapley_exact", "shapley_sampled"}:
            raise ValueError(f"chunks of different methods {sorted(methods)}")
        changes["method"] = "shapley"
    return replace(first, **changes)


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    out = np.full((len(values), width, *values.shape[2:]), np.nan, dtype=values.dtype)
    out[:, : values.shape[1]] = values
    return out


def _limit_threads(threads: int | None) -> None:
    if threads is not None:
        from models.threads import configure_threads

        configure_threads(threads)
