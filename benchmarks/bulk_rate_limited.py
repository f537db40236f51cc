"""Bulk creates under a server-side rate limit (a sliding window or a token bucket): the
share of its capacity the BulkWriter sustains, against a naive resend loop."""

from __future__ import annotations

import asyncio
import time

from .bulk_contenders import (
    bench_slug,
    butter_bulk,
    lost_and_duplicated,
    naive_retry_bulk,
    stored_slugs,
)
from .emulator_process import (
    EmulatorProcess,
)
from .table import print_table


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
