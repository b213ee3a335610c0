"""Which recipes of a folder to analyse: the recorded test split only on the training data.

A checkpoint records a fingerprint of the data it was trained on (``provenance.json``,
``data_hash``: :func:`models.pipeline.dataset_hash`). When a folder given to ``predict``,
``explain``, ``represent`` or ``report`` has that fingerprint, the model's recorded test split is
what gets analysed, since the other recipes were seen in training. Any other folder is new to the
model: every formulation in it is used, and the output says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.data import Dataset
from models.pipeline import dataset_hash
from models.trained import TrainedModel

TEST_SPLIT = "test split"
ALL_FORMULATIONS = "all formulations"


@dataclass(frozen=True)
class Scope:
    """The formulations an analysis runs on, and why.

    ``pool`` is ``"test split"`` (the folder is the training data) or ``"all formulations"``;
    ``training_data`` is True when the folder's fingerprint matches the checkpoint's, False when
    it differs, None when the checkpoint records none; ``reason`` says it in a sentence.
    """

    formulation_ids: tuple[str, ...]
    pool: str
    training_data: bool | None
    reason: str

    def to_dict(self) -> dict:
        return {"pool": self.pool, "training_data": self.training_data,
                "n_formulations": len(self.formulation_ids), "reason": self.reason}

    @property
    def note(self) -> str:
        """One line for the terminal."""
        return f"using {len(self.formulation_ids)} formulations ({self.pool}): {self.reason}"


def is_training_data(model: TrainedModel, dataset: Dataset) -> bool | None:
    """Whether ``dataset`` is the data ``model`` was trained on (None: the checkpoint records
    no fingerprint)."""
    recorded = (model.provenance or {}).get("data_hash")
    if not recorded:
        return None
    return recorded == dataset_hash(dataset)


def analysis_scope(model: TrainedModel, dataset: Dataset, *, measured_only: bool = True) -> Scope:
    """The formulations of ``dataset`` to analyse with ``model``.

    On the training data (recognised by its fingerprint) that is the model's recorded test
    split; on any other folder, every formulation (only those with measurements when
    ``measured_only`` and the folder has any). A checkpoint without a fingerprint keeps the
    older rule: its test split when every test formulation is in the folder.
    """
    training = is_training_data(model, dataset)
    split = model.split
    has_test = split is not None and bool(split.test)
    known = set(dataset.formulation_ids)
    if training is None:
        use_test = has_test and set(split.test) <= known
        why = ("the checkpoint records no data fingerprint"
               + ("; every test formulation is in the folder" if use_test else ""))
    else:
        use_test = training and has_test
        why = ("the folder is the data the model was trained on" if training else
               "the folder is not the data the model was trained on (its fingerprint differs)")
        if training and not has_test:
            why += ", but the checkpoint records no test split"
    if use_test:
        ids = [f for f in split.test if f in known]
        return Scope(tuple(ids), TEST_SPLIT, training,
                     f"{why}, so only its held-out test formulations are used")
    measured = set(dataset.measurements["formulation_id"])
    ids = dataset.formulation_ids
    if measured_only and measured:
        ids = [f for f in ids if f in measured]
        what = "every measured formulation"
    else:
        what = "every formulation"
    return Scope(tuple(ids), ALL_FORMULATIONS, training, f"{why}; {what} is used")
