import os

import pytest

from models.io import atomic_file, atomic_folder
from models.outputs import MARKER, write_marker


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_folder_replaces_the_old_one_whole_and_is_readable(tmp_path, umask_022):
    target = tmp_path / "out"
    target.mkdir()
    write_marker(target, "output")
    (target / "old.txt").write_text("old")
    with atomic_folder(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert not (target / "new.txt").exists()  # nothing shows before the block ends
    assert sorted(p.name for p in target.iterdir()) == sorted([MARKER, "new.txt"])
    assert target.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left behind


def test_atomic_folder_keeps_the_old_one_on_error(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    write_marker(target, "output")
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert (target / "old.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_file_gets_the_usual_mode_and_keeps_the_old_file_on_error(tmp_path, umask_022):
    target = tmp_path / "sheet.csv"
    with atomic_file(target) as tmp:
        tmp.write_text("a,b\n")
    assert target.read_text() == "a,b\n"
    assert target.stat().st_mode & 0o777 == 0o644
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "a,b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.csv"]
