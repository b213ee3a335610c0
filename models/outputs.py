"""Where commands may write, and how a folder output is replaced without ever losing it.

Three rules, checked before any work starts (:func:`check_output`):

- **Never delete what this project did not create.** A folder output may be a missing path, an
  empty folder, or a folder that carries the :data:`MARKER` file with the same kind (a
  checkpoint is replaced only by a checkpoint). Anything else, and any path equal to, inside or
  around an input (``--data``, ``--model``), is refused with :class:`OutputError`.
- **One writer per output.** An advisory lock (``fcntl.flock`` on ``.NAME.lock`` beside the
  output) is taken by the check and held until the output is written; a second command writing
  the same path fails at once, naming it.
- **Old or new, never neither.** :func:`replace_folder` builds the new output in a temporary
  folder beside the path and swaps it in with one ``renameat2(RENAME_EXCHANGE)`` where the
  platform has it; elsewhere a journal (``.NAME.swap``) records the two renames, and the next
  writer (or :func:`recover`) completes them. Temporary folders of crashed runs are removed by
  the next writer.

:data:`SWAP_HOOK` is the one fault-injection point: tests set it to stop the process between
the steps of a replacement.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from models.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no advisory locks
    fcntl = None

MARKER = ".mixer-xai-output"
MARKER_VERSION = 1

SWAP_HOOK: Callable[[str], None] | None = None
"""Called with the name of each step of a folder replacement just after it completes
(``"written"``, then ``"exchanged"``, ``"cleaned"``; or, without an atomic exchange,
``"journal"``, ``"moved-aside"``, ``"moved-in"``, ``"cleaned"``, ``"journal-removed"``).
``None`` in normal use; tests set it to kill the process between steps."""


class OutputError(InputError):
    """An output path a command may not write (or that another command is writing)."""


@dataclass
class _Claim:
    path: Path
    kind: str
    fd: int
    lock: Path
    made: list[Path]  # parent folders the claim created, deepest first


_claims: dict[str, _Claim] = {}  # resolved output path -> the lock this process holds on it


def _step(name: str) -> None:
    if SWAP_HOOK is not None:
        SWAP_HOOK(name)


# ---------------------------------------------------------------------------------- checks


def check_output(
    out: str | Path, kind: str, *, inputs: Iterable[str | Path | None] = ()
) -> Path:
    """Refuse an output folder this command must not replace, then lock it for this process.

    Parameters
    ----------
    out : the folder the command will write (replaced whole at the end).
    kind : what it holds (``"checkpoint"``, ``"report"`` ...); an existing folder is replaced
        only if its marker names the same kind.
    inputs : folders or files the command reads (``--data``, ``--model``); ``out`` may be none
        of them, nor inside nor around one.

    Returns the path to write (``out`` itself, or the folder a symbolic link ``out`` points to).

    Raises
    ------
    OutputError
        Naming ``out`` and why it is refused, or that another command is writing it.
    """
    path = _target(Path(out))
    _check_inputs(out, path, inputs)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise OutputError(f"--out {out}: exists and is not a folder; choose a new path "
                              "(nothing was written)")
        found = read_marker(path)
        if found is None and any(path.iterdir()):
            raise OutputError(f"--out {out}: an existing folder that mixer-xai did not write "
                              f"(it has no {MARKER} file); choose a new path or empty it "
                              "yourself (nothing was written)")
        if found is not None and found != kind:
            raise OutputError(f"--out {out}: holds a {found}, not a {kind}; choose another "
                              "path (nothing was written)")
    _check_writable(out, path.parent)
    claim(path, kind)
    return path


def check_output_file(
    out: str | Path, *, inputs: Iterable[str | Path | None] = (), header: str | None = None
) -> Path:
    """Refuse an output file a command must not write: a folder, a path inside an input, an
    unwritable parent, or (when ``header`` is given) an existing file whose first line does not
    start with ``header`` (the columns every version of the command writes first), i.e. a file
    this command did not write."""
    path = Path(out)
    if path.is_dir():
        raise OutputError(f"--out {out}: is a folder; give a file name")
    if path.exists() and header is not None and not (_first_line(path) or "").startswith(header):
        raise OutputError(f"--out {out}: an existing file that this command did not write; "
                          "choose a new path (nothing was written)")
    _check_inputs(out, _target(path), inputs)
    _check_writable(out, path.parent)
    return path


def check_output_folder(out: str | Path, *, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Refuse a folder that files are added to (``xai experiment``, ``xai sweep``): an existing
    file, an input or a path inside one, or an unwritable folder. Nothing in the folder is
    replaced but the command's own files, so it may hold inputs."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    _check_inputs(out, _target(path), inputs, around=False)  # nothing in it is replaced
    _check_writable(out, path if path.is_dir() else path.parent)
    return path


def read_marker(folder: Path) -> str | None:
    """The kind of output ``folder`` holds by its marker, or None if it has none."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data.get("kind")) if isinstance(data, dict) and data.get("kind") else None


def write_marker(folder: Path, kind: str) -> None:
    """Mark ``folder`` as an output of this project holding ``kind``."""
    (folder / MARKER).write_text(json.dumps({"kind": kind, "version": MARKER_VERSION}) + "\n",
                                 encoding="utf-8")


def _target(path: Path) -> Path:
    """A symbolic link is written through: the folder it points to is the output."""
    return Path(os.path.realpath(path)) if path.is_symlink() else Path(os.path.abspath(path))


def _check_inputs(out: str | Path, path: Path, inputs: Iterable[str | Path | None], *,
                  around: bool = True) -> None:
    real = Path(os.path.realpath(path))
    for given in inputs:
        if given is None:
            continue
        source = Path(os.path.realpath(given))
        if real == source or source in real.parents:
            raise OutputError(f"--out {out}: is {'' if real == source else 'inside '}the input "
                              f"{given}; choose a path outside it (nothing was written)")
        if around and real in source.parents:
            raise OutputError(f"--out {out}: contains the input {given}; replacing it would "
                              "delete it (nothing was written)")


def _check_writable(out: str | Path, parent: Path) -> None:
    existing = Path(os.path.abspath(parent))
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"--out {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: cannot write in {existing} (permission denied)")


def _first_line(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            return f.readline().decode("utf-8-sig").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return None


# ----------------------------------------------------------------------------------- locks


def claim(path: Path, kind: str) -> _Claim:
    """Lock ``path`` for this process (again: the same claim), completing or removing what an
    interrupted earlier writer left beside it."""
    key = str(path)
    if key in _claims:
        return _claims[key]
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"another xai command is writing {path}; wait for it to finish "
                              "or choose another --out") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:  # the holder removed it as we opened it
            same = False
        if same:
            break
        os.close(fd)
    _claims[key] = _Claim(path, kind, fd, lock, made)
    recover(path)
    return _claims[key]


def claimed_kind(path: str | Path) -> str | None:
    """The kind this process claimed ``path`` for, or None if it holds no lock on it."""
    held = _claims.get(str(_target(Path(path))))
    return None if held is None else held.kind


def release(path: str | Path) -> None:
    """Give up this process's lock on ``path`` (if any) and remove the lock file."""
    held = _claims.pop(str(_target(Path(path))), None)
    if held is None:
        return
    try:
        held.lock.unlink(missing_ok=True)  # while still holding it, so no one locks a ghost
    finally:
        os.close(held.fd)
    if not held.path.exists():  # nothing was written: leave no empty parents behind either
        for folder in held.made:
            try:
                folder.rmdir()
            except OSError:
                break


def release_all() -> None:
    """Give up every lock this process holds (the command line does, when a command ends)."""
    for key in list(_claims):
        release(key)


# ---------------------------------------------------------------------------- replacement


def replace_folder(tmp: Path, path: Path, *, exchange: bool = True) -> None:
    """Put the complete folder ``tmp`` at ``path``; at every instant ``path`` holds the whole
    old folder or the whole new one (or, without an atomic exchange, the journal lets the next
    writer finish the swap). ``exchange=False`` takes the journal's way even where the platform
    could exchange (for tests)."""
    _step("written")
    if not (path.exists() or path.is_symlink()):
        os.rename(tmp, path)
        _step("exchanged")
        _step("cleaned")
        return
    if exchange and _exchange(tmp, path):
        _step("exchanged")
        shutil.rmtree(tmp, ignore_errors=True)  # it now holds the old output
        _step("cleaned")
        return
    old = tmp.with_name(tmp.name.replace(".tmp-", ".old-", 1))
    journal = _journal(path)
    _write_journal(journal, {"new": tmp.name, "old": old.name})
    _step("journal")
    os.rename(path, old)
    _step("moved-aside")
    os.rename(tmp, path)
    _step("moved-in")
    shutil.rmtree(old, ignore_errors=True)
    _step("cleaned")
    journal.unlink()
    _step("journal-removed")


def recover(path: Path) -> None:
    """Finish or undo a replacement that was interrupted, and remove stale temporary folders
    beside ``path``. Call only while holding the lock on ``path``."""
    journal = _journal(path)
    if journal.exists():
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
            new, old = path.with_name(entry["new"]), path.with_name(entry["old"])
        except (OSError, ValueError, KeyError, TypeError):
            new = old = None
        if new is not None and not path.exists():
            if new.is_dir() and (new / MARKER).is_file():
                os.rename(new, path)  # the new output was complete: finish the swap
            elif old.is_dir():
                os.rename(old, path)  # undo
        journal.unlink(missing_ok=True)
    prefix = f".{path.name}."
    for entry in sorted(path.parent.iterdir()) if path.parent.is_dir() else []:
        name = entry.name
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        if rest.startswith("old-") and not path.exists() and entry.is_dir():
            os.rename(entry, path)  # the only whole copy left by an older version's crash
        elif rest.startswith(("tmp-", "old-", "swap.tmp")):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _journal(path: Path) -> Path:
    return path.with_name(f".{path.name}.swap")


def _write_journal(journal: Path, entry: dict) -> None:
    tmp = journal.with_name(journal.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entry, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the platform cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # this file system cannot; the journal does it
    raise OSError(err, os.strerror(err), str(b))
