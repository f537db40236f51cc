"""Bulk creates: butter_async vs the N*L/C bound, vs ButterCMS's paced guide, under a limit."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp

from butter_async import ButterClient, RetryPolicy
from butter_async.operations import CreatePage

from .emulator_process import EmulatorProcess, add_pin_option
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
) -> tuple[float, Any]:
    retry = RetryPolicy(max_retries=20, retry_after_cap=5)
    async with ButterClient(read, write, base_url=url, retry=retry) as butter:
        started = time.perf_counter()
        report = await butter.bulk_run(
            creates(n, prefix), concurrency=concurrency, keep_results=False
        )
        return time.perf_counter() - started, report


async def plain_aiohttp_bulk(url: str, write: str, n: int, concurrency: int, prefix: str) -> float:
    """The hand-written baseline: one session, a semaphore, no retries, no bookkeeping."""
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Token {write}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def create(i: int) -> None:
            body = {
                "title": f"Plain {i}",
                "slug": bench_slug(prefix, i),
                "page_type": "recipe",
                "status": "draft",
                "fields": page_fields(i),
            }
            async with gate, session.post(url + "pages/", json=body) as response:
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n)))
        return time.perf_counter() - started


async def guide_pattern(url: str, write: str, sample: int, prefix: str) -> float:
    """Seconds per item of the guide's pattern: one create, then a 200 ms pause."""
    headers = {"Authorization": f"Token {write}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        started = time.perf_counter()
        for i in range(sample):
            body = {
                "title": f"Guide {i}",
                "slug": bench_slug(prefix, i),
                "page_type": "recipe",
                "status": "draft",
                "fields": page_fields(i),
            }
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median")
    parser.add_argument("--sample", type=int, default=20, help="guide-pattern creates timed")
    parser.add_argument("--limit", type=float, default=200.0, help="rate limit (req/s)")
    parser.add_argument("--limited-n", type=int, default=3_000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.sample, args.limited_n, args.repeat = 300, 3, 300, 1
    n, latency, concurrency, repeat = args.n, args.latency, args.concurrency, args.repeat

    # As in stream.py: one untimed warm-up run of each contender, then the median of
    # `repeat` runs, alternating so that a change in the host hits both alike.
    walls: list[float] = []
    plains: list[float] = []
    outcomes: Counter[str] = Counter()
    written: set[str] = set()
    with EmulatorProcess(pages=1, latency=latency, pin_cores=args.pin_cores) as emu:
        placement = emu.placement
        for run in range(repeat + 1):
            prefix = f"bulk{run}"
            wall, report = asyncio.run(
                butter_bulk(emu.url, emu.read_token, emu.write_token, n, concurrency, prefix)
            )
            plain = asyncio.run(
                plain_aiohttp_bulk(emu.url, emu.write_token, n, concurrency, f"plain{run}")
            )
            outcomes.update(report.counts)
            written.update(bench_slug(prefix, i) for i in range(n))
            if run > 0:
                walls.append(wall)
                plains.append(plain)
        per_item = asyncio.run(guide_pattern(emu.url, emu.write_token, args.sample, "guide"))
        slugs = asyncio.run(stored_slugs(emu.url, emu.read_token, "bulk"))
    wall, plain = statistics.median(walls), statistics.median(plains)
    bound = n * latency / concurrency
    guide = per_item * n
    print_table(
        f"bulk create {n:,} pages, latency {latency * 1000:.0f} ms, concurrency {concurrency}"
        f" (median of {repeat} runs after a warm-up)",
        ["contender", "wall s", "writes/s", "/ bound", "x guide"],
        [
            ["butter_async BulkWriter", wall, round(n / wall), wall / bound, guide / wall],
            [
                "plain aiohttp + semaphore (no retries)",
                plain,
                round(n / plain),
                plain / bound,
                guide / plain,
            ],
            ["bound N*L/C", bound, round(n / bound), 1.0, guide / bound],
            [
                f"guide pattern (200 ms pause; extrapolated from {args.sample})",
                guide,
                round(n / guide),
                guide / bound,
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
    bulk_ratio = wall / bound
    lost_total, duplicates_total = lost, duplicates

    limited_n = args.limited_n
    with EmulatorProcess(pages=1, rate_limit=args.limit, pin_cores=args.pin_cores) as emu:
        wall, report = asyncio.run(
            butter_bulk(emu.url, emu.read_token, emu.write_token, limited_n, concurrency, "rl")
        )
        slugs = asyncio.run(stored_slugs(emu.url, emu.read_token, "rl"))
    achieved = limited_n / wall
    lost, duplicates = lost_and_duplicated({bench_slug("rl", i) for i in range(limited_n)}, slugs)
    lost_total += lost
    duplicates_total += duplicates
    print_table(
        f"bulk create {limited_n:,} pages under a {args.limit:.0f} req/s limit "
        f"(429 + whole-second Retry-After)",
        ["contender", "wall s", "writes/s", "x limit", "429s", "lost", "duplicates"],
        [
            [
                "butter_async BulkWriter",
                wall,
                round(achieved),
                achieved / args.limit,
                report.rate_limited,
                lost,
                duplicates,
            ]
        ],
    )
    print(
        f"  targets: bulk {bulk_ratio:.2f}x the bound (<= 1.3); "
        f"{achieved / args.limit:.0%} of the rate limit sustained (>= 90%); "
        f"lost {lost_total}, duplicates {duplicates_total} (both 0)"
    )


if __name__ == "__main__":
    main()
