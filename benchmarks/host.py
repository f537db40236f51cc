"""A yardstick for the shared host: the same pure-Python work timed at each run."""

from __future__ import annotations

import json
import os
import statistics
import time

_DOCUMENT = json.dumps(
    {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(5_000)]}
)


#: Debug switches that slow Python down several times; a test run sets some of them.
DEBUG_VARIABLES = ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONMALLOC")


def child_environment() -> dict[str, str]:
    """The environment for a benchmark's child process: this one's, less the debug
    switches, so that what is measured runs as a user runs it."""
    return {k: v for k, v in os.environ.items() if k not in DEBUG_VARIABLES}


def _work() -> int:
    """Parse, walk and sort a fixed JSON document: calls, dicts and allocation, as we do."""
    items = json.loads(_DOCUMENT)["items"]
    total = sum(len(item["name"]) + len(item["tags"]) for item in items)
    return total + len(sorted(items, key=lambda item: item["name"]))


def cpu_check(rounds: int = 9) -> float:
    """Milliseconds for the fixed work, the median of `rounds`; lower means a faster host."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        _work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
