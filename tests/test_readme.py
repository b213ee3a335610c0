"""The README's Python API blocks run as written, in order, in a temporary folder.

Blocks that use ``reports`` run last; they are skipped only while ``reports.plots`` does not
exist yet.
"""

import importlib.util
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def uses_reports(block: str) -> bool:
    return re.search(r"^\s*(import reports|from reports)", block, flags=re.M) is not None


@pytest.fixture(scope="module")
def readme_namespace(tmp_path_factory):
    """Run every block that does not need ``reports``; return the namespace they built."""
    blocks = python_blocks()
    assert len(blocks) >= 4
    first_report = next((i for i, b in enumerate(blocks) if uses_reports(b)), len(blocks))
    assert not any(uses_reports(b) for b in blocks[:first_report])
    assert all(uses_reports(b) for b in blocks[first_report:]), "reports blocks come last"
    folder = tmp_path_factory.mktemp("readme")
    namespace: dict = {"__name__": "__readme__"}
    here = os.getcwd()
    os.chdir(folder)
    try:
        for i, block in enumerate(blocks[:first_report]):
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
    finally:
        os.chdir(here)
    return folder, namespace, blocks[first_report:]


def test_python_api_blocks_run(readme_namespace):
    folder, namespace, _ = readme_namespace
    assert (folder / "model" / "model.safetensors").exists()
    assert len(namespace["ex"]) == 4 and set(namespace["both"]) == {"ig", "shapley"}
    assert len(namespace["pairs"]) == len(namespace["maps"]) == 2


def test_report_blocks_run(readme_namespace):
    if importlib.util.find_spec("reports.plots") is None:
        pytest.skip("reports.plots is not there yet")
    folder, namespace, blocks = readme_namespace
    here = os.getcwd()
    os.chdir(folder)
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"README.md reports block {i + 1}", "exec"), namespace)
    finally:
        os.chdir(here)
    assert (folder / "report" / "index.html").exists()
