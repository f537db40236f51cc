"""`python -m benchmarks.import_time`: what `import butter_async` costs a cold start,
against `import aiohttp` (which it needs) measured in the same run.

Each round imports each package in a fresh interpreter with `-X importtime`, alternating,
and reads the top-level module's cumulative microseconds; wall time is timed around the
import too. Bytecode is compiled first into a private cache (`PYTHONPYCACHEPREFIX`), as
an installed wheel has it, so neither side pays for compiling its sources.
Target: `import butter_async` within 1.3x `import aiohttp`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile

from .host import child_environment
from .table import print_table

PACKAGES = ("butter_async", "aiohttp")
#: What a web app or a serverless function imports to read; and for comparison, what a
#: bulk job adds.
EXTRA_ROWS = {"butter_async + bulk writer": "import butter_async; butter_async.BulkWriter"}
CODE = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def _measure(statement: str, top: str | None, env: dict[str, str]) -> tuple[float, float]:
    """(cumulative import microseconds of `top` from -X importtime, wall seconds)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CODE.format(statement=statement)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = float(done.stdout.strip())
    cumulative = 0.0
    for line in done.stderr.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[2] == top:
            cumulative = float(parts[1])
    return cumulative, wall


def measure(rounds: int) -> list[list[object]]:
    """The table rows: median microseconds and milliseconds per package, and the ratio."""
    with tempfile.TemporaryDirectory() as cache:
        env = child_environment()
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
        statements = {name: (f"import {name}", name) for name in PACKAGES}
        statements.update({label: (code, "butter_async") for label, code in EXTRA_ROWS.items()})
        for statement, top in statements.values():  # compile and cache the bytecode
            _measure(statement, top, env)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in statements}
        for _ in range(rounds):
            for label, (statement, top) in statements.items():
                samples[label].append(_measure(statement, top, env))
    base = samples["aiohttp"]
    rows: list[list[object]] = []
    for label, measured in samples.items():
        import_us = [cumulative for cumulative, _ in measured]
        wall = [seconds for _, seconds in measured]
        # ratios per round (interleaved), so a slow spell of the host hits both sides
        by_importtime = [ours[0] / theirs[0] for ours, theirs in zip(measured, base, strict=True)]
        by_wall = [ours[1] / theirs[1] for ours, theirs in zip(measured, base, strict=True)]
        extra = label in EXTRA_ROWS  # importtime sees only the first import of these
        rows.append(
            [
                label,
                "-" if extra else statistics.median(import_us) / 1000,
                statistics.median(wall) * 1000,
                "-" if extra else f"{statistics.median(by_importtime):.2f}x",
                f"{statistics.median(by_wall):.2f}x",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    parser.add_argument("--no-pin", action="store_true", help="accepted, as by every benchmark")
    args = parser.parse_args(argv)
    rows = measure(rounds=3 if args.quick else 15)
    print_table(
        "import cost (fresh interpreter, bytecode cached; target: butter_async <= 1.3x aiohttp)",
        ["import", "-X importtime ms", "wall ms", "vs aiohttp (importtime)", "vs aiohttp (wall)"],
        rows,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
