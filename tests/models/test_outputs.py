"""Output folders: what may be replaced, one writer at a time, and old-or-new at every instant
(a kill injected after every step of the swap, in a forked child and with a real SIGKILL)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from models import outputs
from models.io import atomic_folder
from models.outputs import (
    MARKER,
    OutputError,
    check_output,
    check_output_file,
    release_all,
    write_marker,
)

EXCHANGE_STEPS = ["written", "exchanged", "cleaned"]
JOURNAL_STEPS = ["written", "journal", "moved-aside", "moved-in", "cleaned", "journal-removed"]


@pytest.fixture(autouse=True)
def _no_leftover_locks():
    yield
    release_all()
    outputs.SWAP_HOOK = None


def _old_output(path: Path) -> None:
    path.mkdir()
    write_marker(path, "output")
    (path / "a.txt").write_text("old a")
    (path / "b.txt").write_text("old b")


def _content(path: Path) -> dict[str, str] | None:
    if not path.is_dir():
        return None
    return {p.name: p.read_text() for p in path.iterdir() if p.name != MARKER}


OLD = {"a.txt": "old a", "b.txt": "old b"}
NEW = {"a.txt": "new a", "b.txt": "new b", "c.txt": "new c"}


def _write_new(tmp: Path) -> None:
    for name, text in NEW.items():
        (tmp / name).write_text(text)


def _killed_child(target: Path, step: str, *, exchange: bool) -> int:
    """Replace ``target`` in a forked child that dies (``os._exit``, no clean-up) after
    ``step``; returns the child's exit status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            def die(name: str) -> None:
                if name == step:
                    os._exit(9)

            outputs.SWAP_HOOK = die
            if not exchange:
                outputs._exchange = lambda a, b: False  # a platform without renameat2
            with atomic_folder(target) as tmp:
                _write_new(tmp)
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("step", EXCHANGE_STEPS)
def test_a_kill_after_any_step_of_the_exchange_leaves_old_or_new(tmp_path, step):
    target = tmp_path / "out"
    _old_output(target)
    assert _killed_child(target, step, exchange=True) == 9
    # exactly as the kill left it: the old output until the exchange, then the new one
    assert _content(target) == (OLD if step == "written" else NEW)
    check_output(target, "output")  # the next writer removes what the killed one left
    release_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert _content(target) == (OLD if step == "written" else NEW)


@pytest.mark.parametrize("step", JOURNAL_STEPS)
def test_without_exchange_the_journal_lets_the_next_writer_finish(tmp_path, step):
    target = tmp_path / "out"
    _old_output(target)
    assert _killed_child(target, step, exchange=False) == 9
    check_output(target, "output")  # the next writer recovers under the lock
    release_all()
    assert _content(target) == (OLD if step in ("written", "journal") else NEW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("step", EXCHANGE_STEPS)
def test_a_kill_writing_a_new_path_leaves_nothing_or_the_whole_output(tmp_path, step):
    target = tmp_path / "out"
    assert _killed_child(target, step, exchange=True) == 9
    assert _content(target) in (None, NEW)
    check_output(target, "output")
    release_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if step == "written" else ["out"])


SCRIPT = textwrap.dedent("""
    import sys, time
    from models import outputs
    from models.io import atomic_folder

    def hold(name):
        if name == sys.argv[2]:
            print(name, flush=True)
            time.sleep(120)

    outputs.SWAP_HOOK = hold
    with atomic_folder(sys.argv[1]) as tmp:
        for name, text in {"a.txt": "new a", "b.txt": "new b", "c.txt": "new c"}.items():
            (tmp / name).write_text(text)
""")


@pytest.mark.parametrize("step", ["written", "exchanged"])
def test_a_real_sigkill_during_the_swap_leaves_old_or_new(tmp_path, step):
    target = tmp_path / "out"
    _old_output(target)
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(target), step],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).parents[2])
    assert process.stdout.readline().strip() == step, process.stderr.read()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert _content(target) == (OLD if step == "written" else NEW)
    check_output(target, "output")
    release_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_second_writer_fails_clearly_and_the_first_still_writes(tmp_path):
    target = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    with open(lock, "w") as other:  # another process's lock (another open file description)
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(OutputError, match="another xai command is writing"):
            check_output(target, "checkpoint")
    assert not target.exists()
    check_output(target, "checkpoint")
    with atomic_folder(target) as tmp:
        (tmp / "x").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refused_outputs_change_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "formulations.csv").write_text("formulation_id,ingredient,amount\n")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep me too")
    report = tmp_path / "report"
    report.mkdir()
    write_marker(report, "report")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    cases = {
        data: "is the input", data / "sub": "inside the input", tmp_path: "contains the input",
        foreign: "did not write", a_file: "not a folder", report: "holds a report",
    }
    for out, words in cases.items():
        with pytest.raises(OutputError, match=words):
            check_output(out, "checkpoint", inputs=[data])
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_empty_and_marked_folders_are_accepted(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    check_output(empty, "checkpoint")
    marked = tmp_path / "marked"
    marked.mkdir()
    write_marker(marked, "checkpoint")
    (marked / "model.safetensors").write_text("x")
    check_output(marked, "checkpoint")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_parent_is_refused_before_work(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            check_output(parent / "out", "checkpoint")
        with pytest.raises(OutputError, match="permission denied"):
            check_output_file(parent / "p.csv")
    finally:
        parent.chmod(0o700)


def test_output_files_are_written_only_over_our_own(tmp_path):
    mine = tmp_path / "p.csv"
    mine.write_text("formulation_id,property,prediction\n1,a,2\n")
    check_output_file(mine, header="formulation_id,property,prediction")
    theirs = tmp_path / "q.csv"
    theirs.write_text("something else\n")
    with pytest.raises(OutputError, match="did not write"):
        check_output_file(theirs, header="formulation_id,property,prediction")
    with pytest.raises(OutputError, match="is a folder"):
        check_output_file(tmp_path)
    with pytest.raises(OutputError, match="inside the input"):
        check_output_file(tmp_path / "data" / "x.csv", inputs=[tmp_path / "data"])


def test_the_only_copy_an_older_version_left_aside_is_put_back(tmp_path):
    aside = tmp_path / ".out.old-4242"  # a kill between the old two renames
    aside.mkdir()
    (aside / "a.txt").write_text("old a")
    (tmp_path / ".out.tmp-x1").mkdir()  # and the half-moved new one
    check_output(tmp_path / "out", "output")
    release_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (tmp_path / "out" / "a.txt").read_text() == "old a"


def test_a_symbolic_link_is_written_through(tmp_path):
    real = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with atomic_folder(link, kind="output") as tmp:
        (tmp / "x").write_text("x")
    assert link.is_symlink() and (real / "x").read_text() == "x"


def test_a_parent_the_user_cannot_write_is_refused(tmp_path, monkeypatch):
    # (as root every folder is writable, so the permission answer is simulated here; the test
    # above checks a real read-only folder when not run as root)
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match="permission denied"):
        check_output(tmp_path / "new" / "out", "checkpoint")
    assert list(tmp_path.iterdir()) == []


def test_a_claim_given_up_unused_leaves_no_parent_folders(tmp_path):
    check_output(tmp_path / "a" / "b" / "out", "checkpoint")
    assert (tmp_path / "a" / "b" / ".out.lock").exists()
    release_all()
    assert list(tmp_path.iterdir()) == []
    with atomic_folder(tmp_path / "a" / "b" / "out", kind="checkpoint"):
        pass
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["out"]
