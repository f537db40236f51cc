"""The examples run against the embedded emulator and print what they promise."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_quickstart_runs_against_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUTTER_READ_TOKEN", raising=False)
    await load("quickstart").main()
    out = capsys.readouterr().out
    assert "streamed 5001 posts" in out
    assert "latest post: 'Example Post' by sdk-tests" in out
    assert "retries: 0" in out
