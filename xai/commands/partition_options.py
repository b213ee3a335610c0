"""``--jobs`` and ``--scheduler``: the options of the commands that can spread their cases over
several processes or a Dask cluster (``xai predict``, ``xai explain``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from xai.commands.arguments import integer

if TYPE_CHECKING:
    from models.trained import TrainedModel
    from xai.runs.distributed import ModelFiles, Partition


def add_partition_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=integer(minimum=1), default=1, metavar="N",
                        help="local worker processes sharing --threads (default 1: this "
                             "process); with --scheduler, the cases are cut into 4 x N chunks")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run the cases on the workers of this dask.distributed scheduler")


def partition_of(args: argparse.Namespace) -> Partition:
    """The run's :class:`~xai.runs.distributed.Partition`: local workers get an equal share of
    ``--threads`` (default: the CPUs this process may use); a cluster's workers keep theirs."""
    from models.threads import available_cpus, per_worker
    from xai.runs.distributed import Partition

    threads = getattr(args, "threads", None) or available_cpus()
    local = args.scheduler is None
    return Partition(jobs=args.jobs, scheduler=args.scheduler,
                     threads=per_worker(threads, args.jobs) if local else None)


def model_files(model: TrainedModel, folder: Path, loaded: TrainedModel) -> ModelFiles:
    """What the workers load: the files of the checkpoint ``folder`` when ``model`` is
    ``loaded``, the model read from it; else ``model`` saved afresh (extended in memory by the
    unseen ingredients the data folder describes)."""
    from xai.runs.distributed import ModelFiles

    return ModelFiles.read(folder) if model is loaded else ModelFiles.of(model)
