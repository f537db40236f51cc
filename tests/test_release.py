"""The built wheel: typed, versioned from one place, and working when installed alone."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from butter_async import __version__

ROOT = Path(__file__).parent.parent
SMOKE = """
import asyncio, butter_async, sys
from butter_async.testing import Emulator
assert butter_async.__file__.startswith(sys.argv[1]), butter_async.__file__
async def main():
    async with Emulator() as emu, emu.client() as butter:
        page = await butter.pages.list("*").first()
        print("smoke ok", butter_async.__version__, page.slug)
asyncio.run(main())
"""


def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.startswith(f"butter_async-{__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "butter_async/py.typed" in names
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)
    metadata = next(n for n in names if n.endswith("entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "butter-async = butter_async.__main__:main" in entry_points
    assert "butter_async = butter_async.testing.pytest_plugin" in entry_points

    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    result = subprocess.run(
        [sys.executable, "-c", SMOKE, str(target)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"smoke ok {__version__} simple-page"
