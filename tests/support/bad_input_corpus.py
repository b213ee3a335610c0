"""The generated corpus of bad data files and the helpers the bad-input tests share: run a
command in-process, check that it refused with exit code 2 and named what was wrong."""


import hashlib
from dataclasses import dataclass
from pathlib import Path

from xai.cli import main

# ----------------------------------------------------------------------- the corpus itself

HEADERS = {"formulations.csv": ["formulation_id", "ingredient", "amount"],
           "measurements.csv": ["formulation_id", "property", "value"]}
ROWS = {
    "formulations.csv": [["F1", "W", "60"], ["F1", "G", "40"], ["F2", "W", "50"],
                         ["F2", "G", "50"], ["F3", "W", "70"], ["F3", "G", "30"],
                         ["F4", "W", "80"], ["F4", "G", "20"]],
    "measurements.csv": [["F1", "ph", "5"], ["F2", "ph", "6"], ["F3", "ph", "7"],
                         ["F4", "ph", "7.5"]],
}
BAD_ROW = 2  # the (0-based) data row that gets the bad cell

# bad cell text -> words the message must contain
BAD_NUMBERS = {
    "abc": "is not a number", "": "is empty", "nan": "is NaN", "inf": "is infinite",
    "-inf": "is infinite", "1e308": "too large", "-1e300": "too large", "0x1A": "not a number",
}
BAD_AMOUNTS = {**BAD_NUMBERS, "-1": "is negative"}
BAD_TEXT = {"": "is empty", "   ": "is empty"}

# How the file around the bad row is laid out; each adds lines an editor counts.
LAYOUTS = ("plain", "crlf", "bom", "blank lines", "multi-line cell", "quoted")


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, bytes]  # the dataset folder
    file: str  # the file the message must name
    line: int | None  # and the line (None: a file-level problem)
    words: str  # and these words


def _render(name: str, rows: list[list[str]], layout: str, bad: int | None) -> tuple[bytes, int]:
    """The file's bytes and the editor line of data row ``bad``."""
    newline = "\r\n" if layout == "crlf" else "\n"
    lines = [",".join(HEADERS[name])]
    line_of_bad = 0
    for i, row in enumerate(rows):
        cells = list(row)
        if layout == "quoted":
            cells = [f'"{c}"' for c in cells]
        if layout == "multi-line cell" and i == 0:
            cells[1] = f'"{cells[1]}\nsecond line\nthird"'  # one record over three lines
        if layout == "blank lines" and i == 1:
            lines += ["", "   ", ""]
        text = ",".join(cells)
        if i == bad:
            line_of_bad = sum(part.count("\n") + 1 for part in lines) + 1
        lines.append(text)
    body = newline.join(lines) + newline
    data = body.encode("utf-8")
    if layout == "bom":
        data = b"\xef\xbb\xbf" + data
    return data, line_of_bad


def dataset_files(**changes: list[list[str]] | bytes) -> dict[str, bytes]:
    files = {n: _render(n, r, "plain", None)[0] for n, r in ROWS.items()}
    for name, value in changes.items():
        name = name.replace("_", ".")
        files[name] = value if isinstance(value, bytes) else _render(name, value, "plain",
                                                                       None)[0]
    return files


def cell_cases() -> list[Case]:
    """One bad cell in each column, under every layout."""
    cases = []
    for file, column, bad_values in (
        ("formulations.csv", 2, BAD_AMOUNTS), ("measurements.csv", 2, BAD_NUMBERS),
        ("formulations.csv", 0, BAD_TEXT), ("formulations.csv", 1, BAD_TEXT),
        ("measurements.csv", 1, BAD_TEXT),
    ):
        for text, words in bad_values.items():
            for layout in LAYOUTS:
                rows = [list(r) for r in ROWS[file]]
                rows[BAD_ROW][column] = text
                data, line = _render(file, rows, layout, BAD_ROW)
                files = dataset_files()
                files[file] = data
                label = HEADERS[file][column]
                cases.append(Case(f"{file}:{label}={text!r}:{layout}", files, file, line,
                                  words))
    return cases


def file_cases() -> list[Case]:
    """Whole-file and structural problems."""
    f_rows = [list(r) for r in ROWS["formulations.csv"]]
    cases = [
        Case("empty formulations", dataset_files(formulations_csv=b""), "formulations.csv", None,
             "file is empty"),
        Case("only blank lines", dataset_files(formulations_csv=b"\n\n  \n"), "formulations.csv",
             None, "file is empty"),
        Case("header only", dataset_files(formulations_csv=b"formulation_id,ingredient,amount\n"),
             "formulations.csv", None, "has no rows"),
        Case("latin-1 byte on line 4", dataset_files(formulations_csv=(
            "formulation_id,ingredient,amount\nF1,W,60\nF1,G,40\nF2,Gly\xe7,50\n"
        ).encode("latin-1")), "formulations.csv", 4, "not UTF-8"),
        Case("pickle bytes", dataset_files(measurements_csv=b"\x80\x04\x95\x0b\x00\x00\x00\x00"),
             "measurements.csv", 1, "cannot be read as CSV: a NUL byte"),
        Case("UTF-16 text", dataset_files(measurements_csv="formulation_id,property,value\n"
                                                      "F1,ph,5\n".encode("utf-16")),
             "measurements.csv", 1, "is UTF-16 text"),
        Case("NUL byte", dataset_files(formulations_csv=b"formulation_id,ingredient,amount\n"
                                                   b"F1,W,60\nF1,G\x00,40\n"),
             "formulations.csv", 3, "cannot be read as CSV"),
        Case("unquoted decimal comma", dataset_files(formulations_csv=(
            b"formulation_id,ingredient,amount\nF1,W,60\nF1,G,1,5\n")),
            "formulations.csv", 3, "decimal comma"),
        Case("extra field after a multi-line cell", dataset_files(formulations_csv=(
            b'formulation_id,ingredient,amount\nF1,"W\nX",60\nF1,G,40,1\n')),
            "formulations.csv", 4, "fields"),
        Case("missing column", dataset_files(measurements_csv=b"formulation_id,property\nF1,ph\n"),
             "measurements.csv", 1, "missing required column 'value'"),
        Case("measurement of an unknown formulation", dataset_files(measurements_csv=[
            *ROWS["measurements.csv"], ["F9", "ph", "4"]]), "measurements.csv", 6,
            "formulation 'F9' is not in formulations.csv"),
        Case("unknown transform", {**dataset_files(), "properties.csv":
                                   b"property,group,transform\nph,acidity,sqrt\n"},
             "properties.csv", 2, "transform 'sqrt'"),
        Case("log of a negative value", {**dataset_files(measurements_csv=[
            ["F1", "ph", "5"], ["F2", "ph", "-6"], ["F3", "ph", "7"]]),
            "properties.csv": b"property,transform\nph,log\n"}, "measurements.csv", 3,
            "not positive"),
        Case("conflicting groups", {**dataset_files(), "ingredients.csv":
                                    b"ingredient,group\nW,water\n\nW,oil\n"},
             "ingredients.csv", 4, "listed again"),
        Case("invalid truth.json", {**dataset_files(), "truth.json": b'{"families":\n  [1,\n}'},
             "truth.json", 3, "not valid JSON"),
        Case("truth.json of the wrong type", {**dataset_files(), "truth.json": b"[1, 2]"},
             "truth.json", None, "JSON object"),
        Case("both csv and parquet", {**dataset_files(), "measurements.parquet": b"PAR1"},
             "measurements.csv", None, "keep only one"),
        Case("one formulation", dataset_files(formulations_csv=f_rows[:2], measurements_csv=[
            ["F1", "ph", "5"]]), "measurements.csv", None, "too few"),
    ]
    return cases


CORPUS = cell_cases() + file_cases()


# --------------------------------------------------------------------------------- helpers


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a hash of its bytes (folders as ``dir``)."""
    return {str(p.relative_to(root)): ("dir" if p.is_dir() else
                                       hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*"))}


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, f"{w!r} not in:\n{err}"
