"""The bulk journal at scale: resuming a 1,000,000-operation job, and its CPU per write.

Resume: a journal of N operations of which the first half are done is opened by a fresh
process that re-runs the same N inputs against a client that records sends without any
network; it prints the RSS growth over its own start and the time until the first
operation that still needs sending is sent. CPU: the same no-network job with and
without a journal, per write, beside the client CPU of one real bulk write (the
BulkWriter against the emulator at 0 ms), so the journal's share of a write is plain.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from yarl import URL

from butter_async import ButterClient, RetryPolicy
from butter_async.bulk.journal import JobDescription, Journal
from butter_async.operations import CreatePage, CreatePost
from butter_async.transport import ClientStats, OnRateLimit
from butter_async.writes import WriteCall, WriteResult

from .bulk_contenders import page_fields
from .emulator_process import READ_TOKEN, WRITE_TOKEN, EmulatorProcess, add_pin_option
from .host import child_environment
from .memory import peak_rss_mb
from .table import print_table

TARGET = "https://api.example/v2/"
ACCOUNT = "benchmark"


class NoNetworkClient:
    """A BulkClient with no network: the job's own costs are all that is measured."""

    def __init__(self) -> None:
        self.first_send: float | None = None
        self.stats = ClientStats()
        self.retry = RetryPolicy()
        self.closed = False
        self.base_url = URL(TARGET)
        self.account_fingerprint = ACCOUNT

    async def send(
        self, call: WriteCall, *, check_first: bool = False, on_rate_limit: OnRateLimit = "wait"
    ) -> WriteResult:
        """Record the first send and answer at once."""
        if self.first_send is None:
            self.first_send = time.monotonic()
        return WriteResult(call.kind, call.key, "created", 1)

    def require_write_token(self) -> None:
        pass

    def reserve_connections(self, wanted: int) -> int:
        return wanted

    def on_rate_limited(self, callback: Callable[[float | None], None]) -> Callable[[], None]:
        return lambda: None


def posts(n: int) -> Iterator[CreatePost]:
    for i in range(n):
        yield CreatePost(f"journal-{i:07d}", "Journal")


def build_journal(path: Path, n: int) -> None:
    """A journal of `n` operations: the first half created, the rest never started."""
    journal = Journal(path)
    journal.open(JobDescription(TARGET, ACCOUNT))
    journal.close()
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO operations (key, idx, state) VALUES (?, ?, ?)",
        ((f"post:journal-{i:07d}", i, "created") for i in range(n // 2)),
    )
    db.commit()
    db.close()


def resume_child(path: str, n: int) -> None:
    """In a fresh process: resume the job; print RSS growth (MB) and seconds to first send."""
    from butter_async.bulk import BulkWriter

    start_rss = peak_rss_mb()
    client = NoNetworkClient()
    started = time.monotonic()
    report = asyncio.run(
        BulkWriter(client, concurrency=32, journal=path).run(posts(n), keep_results=False)
    )
    first = client.first_send
    assert first is not None and report.counts["skipped"] == n // 2, report.counts
    print(f"{peak_rss_mb() - start_rss:.1f} {first - started:.3f}")


def resume(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "job.journal"
        build_journal(path, n)
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.journal", "--child", str(path), str(n)],
            capture_output=True,
            text=True,
            check=True,
            env=child_environment(),
        ).stdout.split()
    return float(output[0]), float(output[1])


def job_cpu(n: int, *, journal: bool) -> float:
    """Client CPU seconds per write of a no-network job, with or without a journal."""
    from butter_async.bulk import BulkWriter

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "job.journal" if journal else None
        started = time.process_time()
        asyncio.run(BulkWriter(NoNetworkClient(), concurrency=32, journal=path).run(posts(n)))
        return (time.process_time() - started) / n


async def real_write_cpu(url: str, n: int) -> float:
    """Client CPU seconds per page create through the BulkWriter against the emulator."""
    async with ButterClient(READ_TOKEN, WRITE_TOKEN, base_url=url) as butter:
        ops = (CreatePage("recipe", f"cpu-{i:06d}", "CPU", page_fields(i)) for i in range(n))
        started = time.process_time()
        await butter.bulk_run(ops, concurrency=32, keep_results=False)
        return (time.process_time() - started) / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.child:
        resume_child(args.child[0], int(args.child[1]))
        return
    n = 20_000 if args.quick else 1_000_000
    growth, first_send = resume(n)
    print_table(
        f"resuming a journal of {n:,} operations, half done, with the same {n:,} inputs",
        ["measure", "value", "target"],
        [
            ("RSS growth over the process start (MB)", growth, "< 20"),
            ("seconds to the first send", first_send, "< 2"),
        ],
    )
    writes = 5_000 if args.quick else 50_000
    bare = job_cpu(writes, journal=False)
    journaled = job_cpu(writes, journal=True)
    with EmulatorProcess(latency=0.0, pages=1, pin_cores=args.pin_cores) as emulator:
        real = asyncio.run(real_write_cpu(emulator.url, 2_000 if args.quick else 10_000))
    share = (journaled - bare) / real
    print_table(
        "journal CPU per write (no-network job with and without a journal)",
        ["measure", "us per write"],
        [
            ("no-network job, no journal", bare * 1e6),
            ("no-network job, journal", journaled * 1e6),
            ("journal's own cost", (journaled - bare) * 1e6),
            ("client CPU of a real bulk write (emulator, 0 ms)", real * 1e6),
        ],
    )
    print(f"  the journal is {share:.1%} of a bulk write's client CPU (target < 10%)")


if __name__ == "__main__":
    main(sys.argv[1:])
