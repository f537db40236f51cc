"""Bulk creates against the N*L/C bound, the hand loops and ButterCMS's paced guide."""

from __future__ import annotations

import asyncio
import resource
import statistics
from collections import Counter
from typing import Any, NamedTuple

from .bulk_contenders import (
    bench_slug,
    butter_bulk,
    guide_pattern,
    lost_and_duplicated,
    orjson_aiohttp_bulk,
    plain_aiohttp_bulk,
    stored_slugs,
)
from .emulator_process import (
    READ_TOKEN,
    WRITE_TOKEN,
    EmulatorProcess,
)
from .table import print_table


class Run(NamedTuple):
    """A contender's wall and CPU seconds, its report (None for the hand loops), and the
    minor page faults and event-loop wakeups its process took per write while it ran."""

    wall: float
    cpu: float
    report: Any
    faults: float
    wakeups: float


CHURN_FAULTS = 0.25
"""Minor page faults per write above which a round's allocator churned: asyncio's 256 KiB
read buffer then comes from a fresh mmap for every response, costing about 20 µs a write."""


def faults_and_sleeps() -> tuple[int, int]:
    """Minor page faults and voluntary context switches this process has taken so far.
    A client sleeps in the kernel only when its event loop waits for the network, so the
    second counts the loop's wakeups."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_nvcsw


def run_contender(url: str, name: str, n: int, concurrency: int, prefix: str) -> Run:
    """One job of contender `name` ("ours", "bare" or "orjson") writing under `prefix`."""
    faults, sleeps = faults_and_sleeps()
    report = None
    if name == "ours":
        wall, cpu, report = asyncio.run(
            butter_bulk(url, READ_TOKEN, WRITE_TOKEN, n, concurrency, prefix)
        )
    else:
        loop = plain_aiohttp_bulk if name == "bare" else orjson_aiohttp_bulk
        wall, cpu = asyncio.run(loop(url, WRITE_TOKEN, n, concurrency, prefix))
    faults_after, sleeps_after = faults_and_sleeps()
    return Run(wall, cpu, report, (faults_after - faults) / n, (sleeps_after - sleeps) / n)


def bulk_round(
    emu: EmulatorProcess, n: int, concurrency: int, run: int, prefixes: dict[str, str]
) -> dict[str, Run]:
    """Round `run` of the contenders named in `prefixes` ("ours", "bare", "orjson"), each
    writing under its prefix. The order turns with `run`, so that none always goes first."""
    names = list(prefixes)
    turn = run % len(names)
    return {
        name: run_contender(emu.url, name, n, concurrency, prefixes[name])
        for name in names[turn:] + names[:turn]
    }


def throughput(
    n: int, latency: float, concurrency: int, repeat: int, sample: int, pin_cores: bool
) -> tuple[float, float, int, int]:
    """One latency and concurrency: every contender, then the table. Returns the ratio to
    the bound, the CPU ratio to the bare loop, and lost and duplicated writes."""
    # As in stream.py: one untimed warm-up run of each contender, then the median of
    # `repeat` runs, alternating so that a change in the host hits both alike.
    rounds: list[dict[str, Run]] = []
    outcomes: Counter[str] = Counter()
    written: set[str] = set()
    tag = f"c{concurrency}l{round(latency * 1000)}"
    with EmulatorProcess(pages=1, latency=latency, pin_cores=pin_cores) as emu:
        placement = emu.placement
        for run in range(repeat + 1):
            prefix = f"bulk{tag}r{run}"
            prefixes = {"ours": prefix, "bare": f"plain{tag}r{run}", "orjson": f"oj{tag}r{run}"}
            done = bulk_round(emu, n, concurrency, run, prefixes)
            outcomes.update(done["ours"].report.counts)
            written.update(bench_slug(prefix, i) for i in range(n))
            if run > 0:
                rounds.append(done)
        per_item = asyncio.run(guide_pattern(emu.url, emu.write_token, sample, f"guide{tag}"))
        slugs = asyncio.run(stored_slugs(emu.url, emu.read_token, f"bulk{tag}"))
    wall, cpu = (statistics.median(r["ours"][i] for r in rounds) for i in (0, 1))
    plain, plain_cpu = (statistics.median(r["bare"][i] for r in rounds) for i in (0, 1))
    fast, fast_cpu = (statistics.median(r["orjson"][i] for r in rounds) for i in (0, 1))
    # The host's speed drifts between rounds: the CPU ratio is taken within each round.
    cpu_ratios = sorted(r["ours"].cpu / r["bare"].cpu for r in rounds)
    cpu_ratio = statistics.median(cpu_ratios)
    orjson_ratio = statistics.median(r["ours"].cpu / r["orjson"].cpu for r in rounds)
    bound = n * latency / concurrency
    guide = per_item * n
    print_table(
        f"bulk create {n:,} pages, latency {latency * 1000:.0f} ms, concurrency {concurrency}"
        f" (median of {repeat} runs after a warm-up)",
        ["contender", "wall s", "writes/s", "/ bound", "CPU us/write", "x guide"],
        [
            [
                "butter_async BulkWriter (defaults)",
                wall,
                round(n / wall),
                wall / bound,
                cpu / n * 1e6,
                guide / wall,
            ],
            [
                "plain aiohttp + semaphore (no retries)",
                plain,
                round(n / plain),
                plain / bound,
                plain_cpu / n * 1e6,
                guide / plain,
            ],
            [
                "aiohttp + orjson + semaphore (best hand loop)",
                fast,
                round(n / fast),
                fast / bound,
                fast_cpu / n * 1e6,
                guide / fast,
            ],
            ["bound N*L/C", bound, round(n / bound), 1.0, "-", guide / bound],
            [
                f"guide pattern (200 ms pause; extrapolated from {sample})",
                guide,
                round(n / guide),
                guide / bound,
                "-",
                1.0,
            ],
        ],
    )
    lost, duplicates = lost_and_duplicated(written, slugs)
    print(
        f"  BulkWriter outcomes over all {repeat + 1} runs {dict(outcomes)}; "
        f"in the store: lost {lost}, duplicates {duplicates}"
    )
    print(f"  {placement}")
    print(
        f"  targets: {wall / bound:.2f}x the bound (<= 1.3 at C=200, L=100 ms); "
        f"CPU per write {cpu_ratio:.2f}x the bare loop's (<= 1.1 at C=50; median of the "
        f"rounds' ratios, {cpu_ratios[0]:.2f}-{cpu_ratios[-1]:.2f}); "
        f"{orjson_ratio:.2f}x the orjson hand loop's"
    )
    return wall / bound, cpu_ratio, lost, duplicates
