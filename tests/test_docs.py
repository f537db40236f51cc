"""The documentation site builds with --strict, and its reference shows the docstrings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_docs_build_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "index.html").read_text()
    assert "An async client for the ButterCMS API v2." in reference
    assert "Stream the pages of" in reference


FENCE = re.compile(r"^ {0,3}```([\w+-]*)[ \t]*$")


def fence_errors(text: str) -> list[str]:
    """Each fenced block must open on a line of its own (```lang) and close on a line of
    its own (a bare ```); any other line holding ``` is a fence run into the prose."""
    errors = []
    opened_at: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence is None:
            if "```" in line:
                errors.append(f"line {number}: ``` shares its line with text: {line.strip()!r}")
        elif opened_at is None:
            opened_at = number
        elif fence[1]:
            errors.append(f"line {number}: a block opens inside the block of line {opened_at}")
        else:
            opened_at = None
    if opened_at is not None:
        errors.append(f"line {opened_at}: the block opened here is never closed")
    return errors


@pytest.mark.parametrize(
    "document",
    [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
    ids=lambda path: path.name,
)
def test_every_fenced_block_opens_and_closes_on_its_own_line(document: Path) -> None:
    assert fence_errors(document.read_text()) == []


def test_the_fence_check_catches_a_fence_closed_mid_line() -> None:
    broken = "text\n```toml\n[tool]\n``` For synchronous code,\nmore\n"
    assert fence_errors(broken) == [
        "line 4: ``` shares its line with text: '``` For synchronous code,'",
        "line 2: the block opened here is never closed",
    ]
    assert fence_errors("```python\nx = 1\n```python\n") == [
        "line 3: a block opens inside the block of line 1",
        "line 1: the block opened here is never closed",
    ]
    assert fence_errors("a\n```bash\nls\n```\n") == []
