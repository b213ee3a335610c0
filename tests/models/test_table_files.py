"""Reading a CSV keeps the line an editor shows each record on."""

import numpy as np
import pytest

from models.table_files import read_csv_table
from models.validation import Problem


def _read(tmp_path, data: bytes):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    problems: list[Problem] = []
    return read_csv_table(path, problems), problems


def test_lines_count_quoted_newlines_blank_lines_and_crlf(tmp_path):
    table, problems = _read(tmp_path, b'a,b\r\n1,"x\r\ny\r\nz"\r\n\r\n  ,  \r\n2,w\r\n3,"q"\r\n')
    assert problems == []
    assert table.frame["a"].tolist() == ["1", "2", "3"]
    assert table.frame["b"].tolist() == ["x\r\ny\r\nz", "w", "q"]
    assert table.lines.tolist() == [2, 7, 8]


def test_header_below_blank_lines_and_repeated_names(tmp_path):
    table, problems = _read(tmp_path, b"\n\nA ,a,a,b\n1,2,3,4\n")
    assert problems == [] and table.header_line == 3
    assert list(table.frame.columns) == ["a", "a.1", "a.1.1", "b"]  # never two of a name
    assert table.frame["a"].tolist() == ["1"] and table.lines.tolist() == [4]


def test_short_rows_are_padded_and_long_rows_reported_on_their_line(tmp_path):
    table, problems = _read(tmp_path, b'a,b,c\n1\n"2\n",3,4,5\n')
    assert table.frame.values.tolist() == [["1", "", ""], ["2\n", "3", "4"]]
    assert [(p.line, "4 fields" in p.message) for p in problems] == [(3, True)]


def _records_reader(tmp_path, data: bytes):
    from models.table_files import _read_csv_records

    path = tmp_path / "t.csv"
    path.write_bytes(data)
    problems: list[Problem] = []
    return _read_csv_records(data.decode("utf-8-sig"), path, problems), problems


@pytest.mark.parametrize("seed", range(40))
def test_files_without_quotes_read_as_the_record_reader_reads_them(tmp_path, seed):
    # the fast reader takes these; every line a record, so it must agree with the csv module
    rng = np.random.default_rng(seed)
    cells = ["1", "2.5", " x ", "", "  ", "a b", "é", "-3e2", "ID-7"]
    lines = [",".join(rng.choice(["Id", "Name ", "amount", "A"], size=3))] if seed % 5 else [""]
    for _ in range(rng.integers(0, 12)):
        kind = rng.integers(0, 6)
        width = 3 if kind < 4 else int(rng.integers(0, 6))
        lines.append(",".join(rng.choice(cells, size=width)) if width else "")
    ending = "\r\n" if seed % 3 == 0 else "\n"
    data = (("\ufeff" if seed % 7 == 0 else "") + ending.join(lines) + ending).encode()

    fast, fast_problems = _read(tmp_path, data)
    slow, slow_problems = _records_reader(tmp_path, data)
    assert fast_problems == slow_problems
    assert (fast is None) == (slow is None)
    if fast is not None:
        assert list(fast.frame.columns) == list(slow.frame.columns)
        assert fast.frame.values.tolist() == slow.frame.values.tolist()
        assert fast.lines.tolist() == slow.lines.tolist()
        assert fast.header_line == slow.header_line
