"""Reading a CSV keeps the line an editor shows each record on."""

from models.validation import Problem, read_csv_table


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
