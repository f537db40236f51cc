"""`python -m benchmarks.bulk_processes`: K processes writing to one account at once,
under one emulator rate limit (a sliding 1 s window), with and without the shared pace.

Each process runs a BulkWriter over its share of the creates, all starting at one moment.
Reported: accepted writes a second over the whole run as a share of the limit, 429s per
write, and lost and duplicated items read back from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from butter_async import ButterClient, RetryPolicy
from butter_async.testing import RedisServer

from .bulk_contenders import bench_slug, creates, lost_and_duplicated, stored_slugs
from .emulator_process import READ_TOKEN, WRITE_TOKEN, EmulatorProcess
from .host import child_environment
from .table import print_table

ROOT = Path(__file__).parent.parent


async def one_process(
    url: str, prefix: str, n: int, concurrency: int, start_at: float, redis: str | None
) -> dict[str, Any]:
    """One process's job: wait for the common start, write `n` creates, say how it went."""
    retry = RetryPolicy(max_retries=20, retry_after_cap=5)
    options: dict[str, Any] = {"concurrency": concurrency}
    if redis:
        from butter_async.bulk import RedisPace

        options["shared_pace"] = RedisPace(url=redis)
    async with ButterClient(READ_TOKEN, WRITE_TOKEN, base_url=url, retry=retry) as butter:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.time()
        report = await butter.bulk_run(creates(n, prefix), **options)
        return {
            "started": started,
            "finished": time.time(),
            "done": report.done,
            "rate_limited": report.rate_limited,
            "ok": report.ok,
        }


def run_processes(
    url: str,
    processes: int,
    n: int,
    concurrency: int,
    tag: str,
    redis: str | None,
    deadline: float,
) -> list[dict[str, Any] | None]:
    """Start `processes` fresh processes writing `n` creates in all; their reports (None
    for a process still writing `deadline` seconds after the start, which is stopped)."""
    start_at = time.time() + 2.0  # every interpreter is up and connected by then
    share = n // processes
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.bulk_processes",
                "--inner",
                url,
                f"{tag}p{k}",
                str(share),
                str(concurrency),
                str(start_at),
                redis or "",
            ],
            cwd=ROOT,
            env=child_environment(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(processes)
    ]
    reports: list[dict[str, Any] | None] = []
    for child in children:
        try:
            out = child.communicate(timeout=max(0.0, start_at + deadline - time.time()))[0]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:  # stopped: what it wrote is read back instead
            child.kill()
            child.communicate()
            reports.append(None)
    return reports


def measure(
    processes: int,
    n: int,
    limit: float,
    latency: float,
    concurrency: int,
    shared: bool,
    deadline: float,
) -> list[object]:
    """One row: K processes against a fresh emulator (and Redis, when shared)."""
    options = {"pages": 1, "rate_limit": limit, "latency": latency}
    with EmulatorProcess(pin_cores=False, **options) as emu, RedisServer() as redis:
        tag = f"mp{processes}{'s' if shared else 'a'}"
        url = redis if shared else None
        reports = run_processes(emu.url, processes, n, concurrency, tag, url, deadline)
        time.sleep(1.5)  # the window refills before the store is read back
        slugs = asyncio.run(stored_slugs(emu.url, emu.read_token, tag))
    share = n // processes
    finished = [k for k, report in enumerate(reports) if report is not None]
    expected = {bench_slug(f"{tag}p{k}", i) for k in finished for i in range(share)}
    # lost: of the processes that finished; duplicated: of every process
    lost, duplicates = lost_and_duplicated(expected, slugs)
    done = [report for report in reports if report is not None]
    if len(done) == processes:
        wall = max(r["finished"] for r in done) - min(r["started"] for r in done)
        stopped = ""
    else:
        wall = deadline
        stopped = f", {processes - len(done)} stopped at {deadline:.0f} s"
    written = len(set(slugs))
    refused = sum(r["rate_limited"] for r in done)
    rate = written / wall
    label = f"{processes} x {share:,}" + (", shared pace" if shared else ", each alone")
    return [
        label + stopped,
        wall,
        round(rate),
        f"{rate / limit:.1%}",
        refused,
        refused / written if written else 0.0,
        lost,
        duplicates,
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2_000, help="creates in all")
    parser.add_argument("--processes", default="1,2,4,8")
    parser.add_argument("--limit", type=float, default=200.0)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--concurrency", type=int, default=100, help="per process")
    parser.add_argument(
        "--deadline", type=float, default=90.0, help="seconds before a row's processes stop"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--no-pin", action="store_true", help="accepted, as by every benchmark")
    parser.add_argument("--inner", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        url, prefix, n, concurrency, start_at, redis = args.inner
        done = asyncio.run(
            one_process(url, prefix, int(n), int(concurrency), float(start_at), redis or None)
        )
        print(json.dumps(done))
        return
    counts = [int(k) for k in args.processes.split(",")]
    if args.quick:
        args.n, counts = 400, [1, 2]
    rows = [
        measure(k, args.n, args.limit, args.latency, args.concurrency, shared, args.deadline)
        for k in counts
        for shared in (False, True)
    ]
    print_table(
        f"{args.n:,} creates from K processes under one sliding 1 s window of "
        f"{args.limit:.0f} requests, latency {args.latency * 1000:.0f} ms, concurrency "
        f"{args.concurrency} each",
        ["processes", "wall s", "writes/s", "x limit", "429s", "429s/write", "lost", "dup"],
        rows,
    )
    print("  target: 4 processes with the shared pace >= 95% of the limit, at most 2x the "
          "single process's 429s per write, 0 lost, 0 duplicated")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
