"""The benchmarks run end to end in quick mode and print their tables (no timing asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_quick_benchmarks_print_every_table() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for title in (
        "stream 1,000 posts, page_size 100, latency 50 ms",
        "stream 1,000 posts, page_size 100, latency 0 ms",
        "bulk create 300 pages, latency 20 ms, concurrency 50",
        "under a 200 req/s limit",
        "structuring cost per object",
        "peak RSS of the client process (MB)",
        "host yardstick",
    ):
        assert title in out
    assert "official buttercms-python (sequential)" in out
    assert "lost 0, duplicates 0" in out
    assert "Traceback" not in result.stderr
