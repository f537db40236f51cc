"""The examples run against the embedded emulator and print what they promise."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from butter_async.testing import Emulator, SeedSpec

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


def readme_quickstart() -> str:
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


async def test_readme_quickstart_runs_against_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = readme_quickstart().replace("asyncio.run(main())", "")
    async with Emulator(seed=SeedSpec(posts=30)) as emu:
        monkeypatch.setenv("BUTTER_READ_TOKEN", emu.read_token)
        monkeypatch.setenv("BUTTER_WRITE_TOKEN", emu.write_token)
        monkeypatch.setenv("BUTTER_BASE_URL", emu.url)
        namespace: dict[str, object] = {}
        exec(compile(code, "README.md", "exec"), namespace)
        await namespace["main"]()  # type: ignore[operator]
        assert sum(slug.startswith("imported-") for slug in emu.store.posts) == 100
    out = capsys.readouterr().out
    assert "Example Post" in out
    assert "'created': 100" in out
