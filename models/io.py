"""Small file helpers shared by every stage: strict JSON that numpy can write (no NaN or
Infinity tokens), and outputs that appear all at once or not at all."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def to_jsonable(value):
    """``json.dumps`` default: numpy scalars and arrays as plain Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def strict_json(value):
    """``value`` made strict-JSON-able: numpy values as Python ones, paths as text, tuples as
    lists and every non-finite float (NaN, +-infinity) as ``None``.

    This is the project's one policy for numbers JSON cannot hold: they are written as ``null``
    (the field's description says what a missing number means), never as the ``NaN`` /
    ``Infinity`` tokens that strict parsers reject.
    """
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(strict_json(k))): strict_json(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def dumps_json(data, *, compact: bool = False, sort_keys: bool = True) -> str:
    """``data`` as strict JSON text (see :func:`strict_json`); indented unless ``compact``."""
    layout = {"separators": (",", ":")} if compact else {"indent": 2}
    return json.dumps(strict_json(data), sort_keys=sort_keys, allow_nan=False,
                      default=to_jsonable, **layout)


def write_json(file: str | Path, data, *, compact: bool = False) -> None:
    """Write ``data`` as strict JSON with sorted keys: non-finite numbers become ``null``."""
    Path(file).write_text(dumps_json(data, compact=compact) + "\n")


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` when the block succeeds.

    On any error (or interruption) the temporary folder is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; outputs get the usual mode
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` that replaces ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; outputs get the usual mode
    os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask
