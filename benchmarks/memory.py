"""Peak memory of the client while streaming and bulk-writing 10x more: it must stay flat."""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from butter_async import ButterClient
from butter_async.operations import CreatePage

from .bulk_contenders import page_fields
from .emulator_process import READ_TOKEN, WRITE_TOKEN, EmulatorProcess, add_pin_option
from .host import child_environment
from .table import print_table


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    VmHWM belongs to the address space, so it starts afresh in an exec'ed child; Linux's
    ru_maxrss does not (it carries the parent's peak across execve).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def stream(url: str) -> int:
    async with ButterClient(READ_TOKEN, base_url=url) as butter:
        count = 0
        async for _post in butter.posts.list(exclude_body=False):
            count += 1
        return count


def generated(n: int) -> Iterator[CreatePage]:
    for i in range(n):
        yield CreatePage("recipe", f"mem-{i:07d}", f"Memory {i}", page_fields(i))


async def bulk(url: str, n: int) -> int:
    async with ButterClient(READ_TOKEN, WRITE_TOKEN, base_url=url) as butter:
        report = await butter.bulk_run(generated(n), concurrency=64)  # defaults: flat
        return report.counts["created"]


def child(scenario: str, url: str, n: int) -> None:
    """Run one scenario in this fresh process and print 'count peak_mb'."""
    done = asyncio.run(stream(url) if scenario == "stream" else bulk(url, n))
    print(done, f"{peak_rss_mb():.1f}")


def measure(scenario: str, n: int, pin_cores: bool) -> tuple[int, float]:
    """Start the emulator, run a scenario in a child process, return (items, peak MB)."""
    seed = {"posts": n} if scenario == "stream" else {"pages": 1}
    with EmulatorProcess(pin_cores=pin_cores, **seed) as emu:
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--child",
                scenario,
                "--url",
                emu.url,
                "--n",
                str(n),
            ],
            check=True,
            capture_output=True,
            text=True,
            env=child_environment(),
        ).stdout.split()
    return int(output[0]), float(output[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stream", default="10000,100000", help="small,large item counts")
    parser.add_argument("--bulk", default="10000,200000", help="small,large input counts")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--million", action="store_true", help="10,000 vs 1,000,000 of each (10 to 20 minutes)"
    )
    add_pin_option(parser)
    parser.add_argument("--child", choices=["stream", "bulk"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.url, args.n)
        return
    if args.quick:
        args.stream, args.bulk = "500,5000", "300,3000"
    if args.million:
        args.stream = args.bulk = "10000,1000000"
    rows = []
    for scenario, sizes in (("stream", args.stream), ("bulk", args.bulk)):
        small, large = (int(size) for size in sizes.split(","))
        small_items, small_mb = measure(scenario, small, args.pin_cores)
        large_items, large_mb = measure(scenario, large, args.pin_cores)
        growth = large_mb - small_mb
        rows.append(
            [
                scenario,
                small_items,
                small_mb,
                large_items,
                large_mb,
                growth,
                "yes" if growth < 20 else "NO",
            ]
        )
    print_table(
        "peak RSS of the client process (MB)",
        ["job", "items", "peak MB", "10x+ items", "peak MB", "growth MB", "flat (< 20 MB)"],
        rows,
    )


if __name__ == "__main__":
    main()
