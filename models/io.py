"""Small file helpers shared by every stage: strict JSON that numpy can write (no NaN or
Infinity tokens), cells safe for spreadsheets, and outputs that appear all at once or not at all
(the rules for folder outputs are in :mod:`models.outputs`)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.outputs import check_output, claimed_kind, release, replace_folder, write_marker

if TYPE_CHECKING:
    import pandas as pd


def to_jsonable(value):
    """``json.dumps`` default: numpy scalars and arrays as plain Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a
    carriage return) gets a leading ``'``, unless it is a number; anything else is unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """Undo :func:`neutralise_cell` on a cell read back from a sheet."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def safe_for_spreadsheets(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels are neutralised
    (CSV injection), ready for ``to_csv``; numbers are untouched."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    if out.index.dtype == object:
        out.index = [neutralise_cell(i) for i in out.index]
    return out


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
def atomic_folder(path: str | Path, kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` when the block succeeds.

    ``path`` must be missing, empty, or an earlier output of the same ``kind`` (see
    :func:`models.outputs.check_output`, which commands call before any work; without that
    call the check and the lock happen here, with ``kind`` defaulting to ``"output"``). The
    new folder carries the marker that lets a later run replace it. On any error (or
    interruption) the temporary folder is removed and ``path`` is untouched; a kill at any
    instant leaves the whole old or the whole new folder.
    """
    path = Path(path)
    kind = kind or claimed_kind(path) or "output"
    if claimed_kind(path) is None:
        check_output(path, kind)
    try:
        target = Path(os.path.realpath(path)) if path.is_symlink() else path
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        write_marker(tmp, kind)
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; outputs get the usual mode
        replace_folder(tmp, target)
    finally:
        release(path)


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
