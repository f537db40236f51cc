"""A bulk job interrupted under a sliding-window limit and resumed at once from its journal:
how soon the resumed job runs at the limit, beside a fresh job's run.

`python -m benchmarks.resume [--quick] [--n N] [--limit L]`
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from functools import partial
from pathlib import Path

from butter_async import BulkProgress, ButterClient, RetryPolicy

from .bulk_contenders import creates
from .emulator_process import READ_TOKEN, WRITE_TOKEN, EmulatorProcess, add_pin_option
from .table import print_table

LATENCY = 0.05
CONCURRENCY = 200
INTERRUPT_AFTER = 3.0
RETRY = RetryPolicy(max_retries=30, retry_after_cap=5)


async def interrupted_then_resumed(url: str, n: int) -> tuple[list[tuple[float, int]], ...]:
    """Progress samples (seconds since its start, writes done) of a fresh job cut off after
    `INTERRUPT_AFTER` seconds, then of the same job resumed from its journal."""
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "job.journal"
        runs: list[list[tuple[float, int]]] = []
        async with ButterClient(READ_TOKEN, WRITE_TOKEN, base_url=url, retry=RETRY) as butter:
            for cut_off in (INTERRUPT_AFTER, None):
                samples: list[tuple[float, int]] = []
                watch = partial(_sample, samples, time.monotonic())

                job = asyncio.ensure_future(
                    butter.bulk_run(
                        creates(n, "resume"),
                        concurrency=CONCURRENCY,
                        journal=journal,
                        progress=watch,
                        progress_interval=0.1,
                    )
                )
                if cut_off is not None:
                    await asyncio.sleep(cut_off)
                    job.cancel()
                await asyncio.gather(job, return_exceptions=True)
                runs.append(samples)
    return tuple(runs)


def _sample(samples: list[tuple[float, int]], started: float, progress: BulkProgress) -> None:
    samples.append((time.monotonic() - started, progress.done))


def rate_between(samples: list[tuple[float, int]], start: float, end: float) -> float:
    """Writes a second between two moments of a run, from its progress samples."""
    inside = [(when, done) for when, done in samples if start <= when <= end]
    if len(inside) < 2:
        return 0.0
    (first, done_first), (last, done_last) = inside[0], inside[-1]
    return (done_last - done_first) / max(last - first, 1e-9)


def seconds_to_reach(samples: list[tuple[float, int]], rate: float) -> float | None:
    """The first whole second from whose start a one-second span ran at `rate` or more."""
    end = samples[-1][0] if samples else 0.0
    second = 0.0
    while second + 1.0 <= end:
        if rate_between(samples, second, second + 1.0) >= rate:
            return second
        second += 0.5
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000, help="writes in the job")
    parser.add_argument("--limit", type=float, default=200.0, help="window limit (req/s)")
    parser.add_argument("--quick", action="store_true", help="a small job for a smoke run")
    add_pin_option(parser)
    args = parser.parse_args(argv)
    n = 1_600 if args.quick else args.n
    limit = {"rate_limit": args.limit, "rate_limit_kind": "window"}
    with EmulatorProcess(pin_cores=args.pin_cores, pages=1, latency=LATENCY, **limit) as emu:
        fresh, resumed = asyncio.run(interrupted_then_resumed(emu.url, n))
    rows = []
    for label, samples in (("fresh job (first 3 s)", fresh), ("resumed job", resumed)):
        end = samples[-1][0] if samples else 0.0
        settled = rate_between(samples, min(2.0, end), end)
        reached = seconds_to_reach(samples, 0.95 * args.limit)
        rows.append(
            [label, settled, settled / args.limit, "-" if reached is None else f"{reached:.1f}"]
        )
    print_table(
        f"resuming a job of {n:,} creates under a sliding 1 s window of {args.limit:.0f} "
        f"requests, {LATENCY * 1000:.0f} ms latency, concurrency {CONCURRENCY}, cut off "
        f"after {INTERRUPT_AFTER:.0f} s",
        ["run", "writes/s from 2 s on", "share of limit", "s to 95% of the limit"],
        rows,
    )
    print(f"  ({emu.placement})")


if __name__ == "__main__":
    main()
