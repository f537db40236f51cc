"""Our wheel in a fresh virtual environment, once per extra, as a new user installs it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# Our dependencies come from the pinned toolchain, so that this test gives the same verdict
# next month; our own wheel is the one thing installed unpinned.
PINS = ROOT / "constraints" / "dev.txt"
UNRELATED_TEST = """
def test_unrelated():
    assert 1 + 1 == 2
"""
EMULATOR_TEST = """
import pytest

@pytest.mark.asyncio
async def test_reads_the_emulator(butter_client):
    assert (await butter_client.posts.get("example-post")).post.slug

def test_unrelated():
    assert True
"""
# What docs/testing.md tells a user to put in pyproject.toml (strict mode is the default).
USER_PYPROJECT = """
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
filterwarnings = ["error"]
"""


def run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Our wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    built = run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", out, ROOT,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("butter_async-*.whl")
    yield path


def fresh_venv(where: Path, wheel: Path, extra: str, *also: str) -> Path:
    """A new venv with our wheel (and `extra`) installed; its bin directory."""
    assert run(sys.executable, "-m", "venv", where).returncode == 0
    bin_dir = where / "bin"
    target = f"{wheel}[{extra}]" if extra else str(wheel)
    installed = run(bin_dir / "pip", "install", "-q", "-c", PINS, target, *also)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return bin_dir


def user_project(where: Path, test_source: str, pyproject: str = USER_PYPROJECT) -> Path:
    where.mkdir()
    (where / "pyproject.toml").write_text(pyproject)
    (where / "test_user.py").write_text(textwrap.dedent(test_source))
    return where


def test_no_extra_imports_and_the_cli_says_what_to_install(tmp_path: Path, wheel: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "")
    imported = run(bin_dir / "python", "-c", "import butter_async; print(butter_async.__version__)")
    assert imported.returncode == 0, imported.stderr
    cli = run(bin_dir / "butter-async", "--help")
    assert cli.returncode == 2
    assert "pip install 'butter-async[cli]'" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_with_pytest_but_no_pytest_asyncio_unrelated_tests_pass(
    tmp_path: Path, wheel: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "", "pytest")
    pyproject = '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n'
    project = user_project(tmp_path / "project", UNRELATED_TEST, pyproject)
    result = run(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_cli_extra_runs_the_command(tmp_path: Path, wheel: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "cli")
    result = run(bin_dir / "butter-async", "--help")
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout


def test_testing_extra_fixtures_work_in_strict_mode(tmp_path: Path, wheel: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "testing")
    project = user_project(tmp_path / "project", EMULATOR_TEST)
    result = run(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_testing_and_redis_extras_give_a_user_the_redis_server_and_the_cache(
    tmp_path: Path, wheel: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", wheel, "testing,redis")
    code = """
        import asyncio
        import pytest_asyncio, redis
        from butter_async import ButterClient, MemoryCache, RedisCache
        from butter_async.testing import Emulator, RedisServer

        async def main() -> None:
            with RedisServer() as url:
                async with Emulator() as emu, emu.client(cache=RedisCache(url=url)) as butter:
                    for _ in range(2):
                        await butter.posts.get("example-post")
                    assert butter.stats.cache.hits == 1

        asyncio.run(main())
        print("ok")
    """
    result = run(bin_dir / "python", "-c", textwrap.dedent(code))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"
