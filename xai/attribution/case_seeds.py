"""Random generators per case, so that a case's samples do not depend on which other cases run
beside it, in which order, or on which worker.

A case is one (formulation, property) pair; its generator is seeded from the run's seed and
stable hashes of the two names (not Python's ``hash``, which changes between processes).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(name: str) -> int:
    """A 64-bit integer from ``name`` that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def case_rng(seed: int, formulation_id: str, prop: str) -> np.random.Generator:
    """The generator of case (``formulation_id``, ``prop``) in a run seeded with ``seed``."""
    return np.random.default_rng([int(seed), stable_hash(str(formulation_id)),
                                  stable_hash(str(prop))])
