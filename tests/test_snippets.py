"""Every Python block of README.md and docs/*.md runs as printed and passes mypy --strict.

A block preceded by `<!-- snippet: account -->` talks to a ButterCMS account through the
`BUTTER_READ_TOKEN`, `BUTTER_WRITE_TOKEN` and `BUTTER_BASE_URL` variables: it runs
against an emulator with those injected. Every other block brings its own emulator,
schema included, through the public API.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from mypy import api

from butter_async.testing import emulator_in_thread

ROOT = Path(__file__).parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"(?:<!-- snippet: (?P<kind>[\w-]+) -->\n)?^```python\n(?P<code>.*?)^```", re.S | re.M
)


@attrs.frozen
class Snippet:
    name: str
    code: str
    account: bool

    @property
    def module(self) -> str:
        """A module name for it (mypy checks every snippet as a module of its own)."""
        return re.sub(r"\W", "_", self.name).lower()


def collect() -> list[Snippet]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text()
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start("code")) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            found.append(Snippet(name, match["code"], match["kind"] == "account"))
    return found


SNIPPETS = collect()


def test_the_documents_hold_the_snippets_we_expect() -> None:
    assert len(SNIPPETS) >= 20
    assert any(s.name.startswith("README.md") and s.account for s in SNIPPETS)
    assert {s.name.split(":")[0] for s in SNIPPETS} >= {"README.md", "docs/webapp.md"}


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_each_snippet_runs_as_printed(snippet: Snippet, tmp_path: Path) -> None:
    script = tmp_path / f"{snippet.module}.py"
    script.write_text(snippet.code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTER_")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-W", "error", str(script)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
            check=False,
        )

    if snippet.account:
        with emulator_in_thread() as emu:
            env |= {
                "BUTTER_READ_TOKEN": emu.read_token,
                "BUTTER_WRITE_TOKEN": emu.write_token,
                "BUTTER_BASE_URL": emu.url,
            }
            result = run()
    else:
        result = run()
    assert result.returncode == 0, f"{snippet.name} failed:\n{result.stderr[-3000:]}"


def test_every_snippet_passes_mypy_strict(tmp_path: Path) -> None:
    files = []
    for snippet in SNIPPETS:
        path = tmp_path / f"{snippet.module}.py"
        path.write_text(snippet.code)
        files.append(str(path))
    out, err, status = api.run(["--strict", "--no-incremental", *files])
    assert status == 0, out + err
