"""Installing us never breaks a user's project: the CLI, the pytest plugin, the import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# Only the plugins a test names: entry points of what is installed here stay out.
NO_AUTOLOAD = {**ENV, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def python(
    code: str, cwd: Path | None = None, env: dict[str, str] = ENV
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_the_cli_without_its_extra_says_how_to_get_it() -> None:
    result = python(
        """
        import sys
        sys.modules["click"] = None  # as if the 'cli' extra were not installed
        from butter_async.__main__ import main
        main()
        """
    )
    assert result.returncode == 2
    assert "pip install 'butter-async[cli]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_testing_is_an_attribute_loaded_on_first_use() -> None:
    result = python(
        """
        import sys
        import butter_async
        assert "aiohttp.web" not in sys.modules and "butter_async.testing" not in sys.modules
        print(butter_async.testing.Emulator.__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Emulator"


def test_the_plugin_loads_without_pytest_asyncio(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            def test_unrelated():
                assert 1 + 1 == 2

            def test_needs_the_emulator(butter_emulator):
                pass
            """
        )
    )
    result = python(
        """
        import sys

        class NoPytestAsyncio:  # as if pytest-asyncio were not installed
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pytest_asyncio":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoPytestAsyncio())
        import pytest
        sys.exit(pytest.main(["-p", "butter_async.testing.pytest_plugin",
                              "-q", "-p", "no:cacheprovider", "test_user.py"]))
        """,
        cwd=tmp_path,
        env=NO_AUTOLOAD,
    )
    assert "1 passed" in result.stdout and (
        "1 error" in result.stdout or "1 failed" in result.stdout
    )
    assert "pip install 'butter-async[testing]'" in result.stdout


def test_the_fixtures_work_in_strict_mode(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.asyncio
            async def test_reads_the_emulator(butter_client):
                assert (await butter_client.posts.get("example-post")).post.slug

            def test_unrelated():
                assert True
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "asyncio",
            "-p",
            "butter_async.testing.pytest_plugin",
            "-o",
            "asyncio_mode=strict",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "-W",
            "error",
            "test_user.py",
        ],
        capture_output=True,
        text=True,
        env=NO_AUTOLOAD,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 passed" in result.stdout
