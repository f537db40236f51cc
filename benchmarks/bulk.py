"""Bulk creates: butter_async vs the N*L/C bound, vs ButterCMS's paced guide, under a limit."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import orjson

from butter_async import ButterClient, RetryPolicy
from butter_async.operations import CreatePage

from .emulator_process import (
    READ_TOKEN,
    WRITE_TOKEN,
    EmulatorProcess,
    add_pin_option,
    latency_label,
)
from .host import child_environment
from .table import print_table

GUIDE_PAUSE = 0.2  # ButterCMS's bulk guide: sequential creates, 200 ms apart


def page_fields(i: int) -> dict[str, Any]:
    return {
        "headline": f"Bench {i}",
        "servings": i % 6,
        "hero_image": "",
        "ingredients": [{"name": "flour", "grams": i % 500}],
        "seo": {"title": f"Bench {i}", "description": "benchmark"},
        "sections": [],
    }


def bench_slug(prefix: str, i: int) -> str:
    """The slug of input `i` of a run: every contender writes them, the check reads them."""
    return f"{prefix}-{i:06d}"


def creates(n: int, prefix: str) -> Iterator[CreatePage]:
    for i in range(n):
        yield CreatePage("recipe", bench_slug(prefix, i), f"Bench {i}", page_fields(i))


async def butter_bulk(
    url: str, read: str, write: str, n: int, concurrency: int, prefix: str
) -> tuple[float, float, Any]:
    """butter_async's BulkWriter with its defaults: wall and client CPU seconds, report."""
    retry = RetryPolicy(max_retries=20, retry_after_cap=5)
    async with ButterClient(read, write, base_url=url, retry=retry) as butter:
        cpu, started = time.process_time(), time.perf_counter()
        report = await butter.bulk_run(creates(n, prefix), concurrency=concurrency)
        return time.perf_counter() - started, time.process_time() - cpu, report


def page_body(i: int, prefix: str, title: str = "Plain") -> dict[str, Any]:
    """The create body a hand-written loop sends for input `i`."""
    return {
        "title": f"{title} {i}",
        "slug": bench_slug(prefix, i),
        "page_type": "recipe",
        "status": "draft",
        "fields": page_fields(i),
    }


async def plain_aiohttp_bulk(
    url: str, write: str, n: int, concurrency: int, prefix: str
) -> tuple[float, float]:
    """The hand-written baseline: one session, a semaphore, no retries, no bookkeeping.
    Its connector allows `concurrency` connections, as a user tuning it would set."""
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Token {write}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def create(i: int) -> None:
            async with gate, session.post(url + "pages/", json=page_body(i, prefix)) as response:
                await response.read()

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n)))
        return time.perf_counter() - started, time.process_time() - cpu


async def orjson_aiohttp_bulk(
    url: str, write: str, n: int, concurrency: int, prefix: str
) -> tuple[float, float]:
    """The best hand loop: the bare loop with each body encoded by orjson and sent as bytes,
    as a user tuning it would write (aiohttp's `json=` encodes with the standard library)."""
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Token {write}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def create(i: int) -> None:
            body = orjson.dumps(page_body(i, prefix))
            async with gate, session.post(url + "pages/", data=body) as response:
                await response.read()

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n)))
        return time.perf_counter() - started, time.process_time() - cpu


async def naive_retry_bulk(
    url: str, write: str, n: int, concurrency: int, prefix: str
) -> tuple[float, int]:
    """The naive loop under a limit: on 429, sleep its Retry-After and send again."""
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Token {write}"}
    refused = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def create(i: int) -> None:
            nonlocal refused
            async with gate:
                while True:
                    async with session.post(url + "pages/", json=page_body(i, prefix)) as reply:
                        await reply.read()
                        if reply.status != 429:
                            return
                        refused += 1
                        wait = float(reply.headers.get("Retry-After", "1"))
                    await asyncio.sleep(wait)

        started = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n)))
        return time.perf_counter() - started, refused


async def guide_pattern(url: str, write: str, sample: int, prefix: str) -> float:
    """Seconds per item of the guide's pattern: one create, then a 200 ms pause."""
    headers = {"Authorization": f"Token {write}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        started = time.perf_counter()
        for i in range(sample):
            body = page_body(i, prefix, "Guide")
            async with session.post(url + "pages/", json=body) as response:
                assert response.status == 202, await response.text()
            await asyncio.sleep(GUIDE_PAUSE)
        return (time.perf_counter() - started) / sample


async def stored_slugs(url: str, read: str, prefix: str) -> list[str]:
    """The bench pages the emulator holds, read back through the API."""
    async with ButterClient(read, base_url=url) as butter:
        return [
            page.slug
            async for page in butter.pages.list("recipe", preview=True)
            if page.slug.startswith(prefix)
        ]


def lost_and_duplicated(expected: set[str], stored: list[str]) -> tuple[int, int]:
    """Expected slugs missing from the store, and slugs stored more than once."""
    return len(expected - set(stored)), len(stored) - len(set(stored))


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


def run_inner(*arguments: str) -> Any:
    """Run `python -m benchmarks.bulk ARGUMENTS` in a fresh process; the JSON it printed last."""
    command = [sys.executable, "-m", "benchmarks.bulk", *arguments]
    root = Path(__file__).parent.parent
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, cwd=root, env=child_environment()
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


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


LOCKSTEP_NOTE = """\
  wakeups: the event loop's sleeps for the network, per write. At a fixed latency, a loop
  that handles a whole round trip's answers at once wakes about once per `concurrency`
  writes (0.02 at C=50) and takes longer in wall time; one that sends each next request as
  its answer comes wakes more often. Latency jitter (--cpu-jitter) takes both the second way."""


class Comparison(NamedTuple):
    """One round of the BulkWriter against the bare loop: the CPU ratio, each one's CPU
    µs, minor page faults and event-loop wakeups a write, and the wall-time ratio."""

    ratio: float
    ours_us: float
    ours_faults: float
    ours_wakeups: float
    bare_us: float
    bare_faults: float
    bare_wakeups: float
    wall_ratio: float


COMPARISON_COLUMNS = [
    "ours us/write",
    "faults",
    "wakeups",
    "bare us/write",
    "faults",
    "wakeups",
    "wall ours/bare",
]
"""Headers of a `Comparison`'s fields after its ratio."""


class CpuRatios(NamedTuple):
    """What a target-6 harness measured, for scripts and tests to read rather than the
    table: the median CPU ratio and every round's `Comparison`."""

    median: float
    rounds: list[Comparison]


def compare(ours: Run, bare: Run, n: int) -> Comparison:
    """The round in which each contender made `n` writes."""
    return Comparison(
        ours.cpu / bare.cpu,
        ours.cpu / n * 1e6,
        ours.faults,
        ours.wakeups,
        bare.cpu / n * 1e6,
        bare.faults,
        bare.wakeups,
        ours.wall / bare.wall,
    )


def cpu_rounds(
    n: int, latency: float, jitter: float, concurrency: int, rounds: int, pin_cores: bool
) -> None:
    """Print each round's `Comparison` as JSON: one process's share of
    `cpu_across_processes`."""
    measured = []
    server = EmulatorProcess(pages=1, latency=latency, jitter=jitter, pin_cores=pin_cores)
    with server as emu:
        for run in range(rounds + 1):
            tag = f"cpu{time.time_ns()}"
            done = bulk_round(emu, n, concurrency, run, {"ours": f"{tag}o", "bare": f"{tag}b"})
            if run > 0:  # the first round warms up
                measured.append(compare(done["ours"], done["bare"], n))
    print(json.dumps(measured))


def cpu_across_processes(
    n: int,
    latency: float,
    concurrency: int,
    processes: int,
    rounds: int,
    pin_cores: bool,
    jitter: float = 0.0,
) -> CpuRatios:
    """Target 6 measured in `processes` fresh processes: the median of every round's CPU
    ratio. Which way the allocator and the host go is settled per process, so one
    process's rounds can sit 10% away from another's; the rounds where neither
    contender's allocator churned are also summed up on their own."""
    per_process: list[list[Comparison]] = []
    for _ in range(processes):
        arguments = ["--inner-cpu", str(n), str(latency), str(jitter), str(concurrency)]
        arguments += [str(rounds), *([] if pin_cores else ["--no-pin"])]
        per_process.append([Comparison(*row) for row in run_inner(*arguments)])
    every = [row for rows in per_process for row in rows]
    median = statistics.median(row.ratio for row in every)

    def summary(label: object, rows: list[Comparison]) -> list[object]:
        ratios = [row.ratio for row in rows]
        columns = (statistics.median(column) for column in list(zip(*rows, strict=True))[1:])
        return [label, statistics.median(ratios), min(ratios), max(ratios), *columns]

    print_table(
        f"client CPU per bulk write, BulkWriter / bare loop, latency "
        f"{latency_label(latency, jitter)}, concurrency {concurrency}: {processes} processes "
        f"of {rounds} rounds ({n:,} writes each)",
        ["process", "median ratio", "lowest", "highest", *COMPARISON_COLUMNS],
        [summary(i + 1, rows) for i, rows in enumerate(per_process)]
        + [summary("all rounds", every)],
    )
    calm = [row for row in every if max(row.ours_faults, row.bare_faults) < CHURN_FAULTS]
    if calm:
        calm_median = statistics.median(row.ratio for row in calm)
        print(
            f"  {len(calm)} of {len(every)} rounds with neither allocator churning "
            f"(< {CHURN_FAULTS} minor faults a write each): median ratio {calm_median:.2f}"
        )
    print(LOCKSTEP_NOTE)
    print(f"  target 6: CPU per write {median:.2f}x the bare loop's (<= 1.1 at C=50)")
    return CpuRatios(median, every)


def one_job(name: str, url: str, n: int, concurrency: int) -> None:
    """Run one contender's job in this fresh process; print its `Run` as JSON, without
    the report."""
    done = run_contender(url, name, n, concurrency, f"job{time.time_ns()}")
    print(json.dumps(done._replace(report=None)))


def cpu_one_job_per_process(
    n: int, latency: float, concurrency: int, rounds: int, pin_cores: bool, jitter: float = 0.0
) -> CpuRatios:
    """Target 6 as a user's job meets it: each contender's job in a process of its own,
    as a bulk import runs; the rounds alternate which goes first. The median ratio."""
    rows: list[Comparison] = []
    server = EmulatorProcess(pages=1, latency=latency, jitter=jitter, pin_cores=pin_cores)
    with server as emu:
        for run in range(rounds):
            got = {}
            for name in ("ours", "bare") if run % 2 else ("bare", "ours"):
                job = run_inner("--inner-job", name, emu.url, str(n), str(concurrency))
                got[name] = Run(*job)
            rows.append(compare(got["ours"], got["bare"], n))
    median = statistics.median(row.ratio for row in rows)
    print_table(
        f"client CPU per bulk write, one job per fresh process, latency "
        f"{latency_label(latency, jitter)}, concurrency {concurrency}: {rounds} rounds "
        f"({n:,} writes each)",
        ["round", "ratio", *COMPARISON_COLUMNS],
        [[i + 1, *row] for i, row in enumerate(rows)]
        + [["median", *(statistics.median(column) for column in zip(*rows, strict=True))]],
    )
    print(LOCKSTEP_NOTE)
    print(f"  target 6, one job a process: CPU per write {median:.2f}x the bare loop's")
    return CpuRatios(median, rows)


def rate_limited(
    n: int, limit: float, concurrency: int, pin_cores: bool, kind: str = "window"
) -> tuple[float, int, int]:
    """Writes under a server-side limit of `limit` requests a second: the share of its true
    capacity sustained by the BulkWriter and by the naive resend loop.

    `window`: a sliding one-second window answering 429 + `Retry-After: 1`; its capacity
    is `limit` a second. `bucket`: a token bucket of one second's burst naming each
    token's wait to the millisecond; its capacity is the burst plus `limit` a second.
    """
    options = {
        "pages": 1,
        "rate_limit": limit,
        "rate_limit_kind": kind,
        "fractional_retry_after": kind == "bucket",
    }
    with EmulatorProcess(pin_cores=pin_cores, **options) as emu:
        wall, _, report = asyncio.run(
            butter_bulk(emu.url, emu.read_token, emu.write_token, n, concurrency, "rl")
        )
        time.sleep(1.5)  # the limit refills before the store is read back (a page a request)
        slugs = asyncio.run(stored_slugs(emu.url, emu.read_token, "rl"))
    with EmulatorProcess(pin_cores=pin_cores, **options) as emu:
        naive, refused = asyncio.run(
            naive_retry_bulk(emu.url, emu.write_token, n, concurrency, "naive")
        )
    lost, duplicates = lost_and_duplicated({bench_slug("rl", i) for i in range(n)}, slugs)
    burst = limit if kind == "bucket" else 0.0

    def share(seconds: float) -> float:
        return n / (burst + limit * seconds)

    ours = share(wall)
    limiter = (
        f"a sliding 1 s window of {limit:.0f} requests (429 + Retry-After: 1)"
        if kind == "window"
        else f"a token bucket of {limit:.0f} requests a second, {burst:.0f} of burst "
        "(429 + Retry-After to the millisecond)"
    )
    print_table(
        f"bulk create {n:,} pages, concurrency {concurrency}, under {limiter}",
        ["contender", "wall s", "writes/s", "x capacity", "429s", "429s/write", "lost", "dup"],
        [
            [
                "butter_async BulkWriter",
                wall,
                round(n / wall),
                ours,
                report.rate_limited,
                report.rate_limited / n,
                lost,
                duplicates,
            ],
            [
                "naive loop: sleep Retry-After, resend",
                naive,
                round(n / naive),
                share(naive),
                refused,
                refused / n,
                "-",
                "-",
            ],
        ],
    )
    print(f"  targets: {ours:.1%} of the limit sustained (>= 98%); lost {lost}, dup {duplicates}")
    return ours, lost, duplicates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument(
        "--settings",
        default="0.02:50,0.1:200",
        help="latency:concurrency pairs, comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median")
    parser.add_argument("--sample", type=int, default=20, help="guide-pattern creates timed")
    parser.add_argument("--limit", type=float, default=200.0, help="rate limit (req/s)")
    parser.add_argument("--limited-n", type=int, default=6_000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--cpu-processes",
        type=int,
        default=0,
        help="also compare CPU per write at 20 ms, C=50 in this many fresh processes",
    )
    parser.add_argument(
        "--cpu-jobs",
        type=int,
        default=0,
        help="also compare CPU per write at 20 ms, C=50 over this many rounds of one job a process",
    )
    parser.add_argument(
        "--cpu-jitter",
        type=float,
        default=0.0,
        help="server-time spread (+- seconds) around the 20 ms of --cpu-processes and --cpu-jobs",
    )
    parser.add_argument("--inner-cpu", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--inner-job", nargs=4, help=argparse.SUPPRESS)
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.inner_cpu:
        n, latency, jitter, concurrency, rounds = args.inner_cpu
        cpu_rounds(
            int(n), float(latency), float(jitter), int(concurrency), int(rounds), args.pin_cores
        )
        return
    if args.inner_job:
        name, url, n, concurrency = args.inner_job
        one_job(name, url, int(n), int(concurrency))
        return
    if args.quick:
        args.n, args.sample, args.limited_n, args.repeat = 300, 3, 300, 1
    lost_total = duplicates_total = 0
    for setting in args.settings.split(","):
        latency, concurrency = setting.split(":")
        if float(latency) <= 0:
            parser.error(f"{setting}: the N*L/C bound needs a latency above 0")
        _, _, lost, duplicates = throughput(
            args.n, float(latency), int(concurrency), args.repeat, args.sample, args.pin_cores
        )
        lost_total += lost
        duplicates_total += duplicates
    for kind in ("window", "bucket"):
        _, lost, duplicates = rate_limited(args.limited_n, args.limit, 50, args.pin_cores, kind)
        lost_total += lost
        duplicates_total += duplicates
    print(f"  lost {lost_total}, duplicates {duplicates_total} (both 0)")
    if args.cpu_processes:
        rounds = 2 if args.quick else 8
        cpu_across_processes(
            args.n, 0.02, 50, args.cpu_processes, rounds, args.pin_cores, args.cpu_jitter
        )
    if args.cpu_jobs:
        cpu_one_job_per_process(args.n, 0.02, 50, args.cpu_jobs, args.pin_cores, args.cpu_jitter)


if __name__ == "__main__":
    main()
