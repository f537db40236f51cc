"""The demo behind `butter-async demo`: streaming and bulk writes, measured and explained."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ..bulk import BulkProgress, BulkReport
from ..client import ButterClient
from ..operations import CreatePage, CreatePost, DeletePost, Operation
from ..pagination import AsyncPager
from ..testing import Emulator, SeedSpec


async def timed_stream(pager: AsyncPager[Any]) -> tuple[int, float]:
    """Walk a pager to its end: (items, seconds)."""
    started = time.perf_counter()
    count = 0
    async for _item in pager:
        count += 1
    return count, time.perf_counter() - started


def demo_pages(count: int) -> Iterator[Operation]:
    """Recipe pages for the emulator's seeded `recipe` page type."""
    for i in range(count):
        fields = {
            "headline": f"Demo recipe {i}",
            "servings": 1 + i % 6,
            "hero_image": "",
            "ingredients": [{"name": "flour", "grams": 100 + i % 400}],
            "seo": {"title": f"Demo recipe {i}", "description": "Imported by the demo"},
            "sections": [{"steps": {"steps": ["mix", "bake"]}}],
        }
        yield CreatePage("recipe", f"demo-recipe-{i:05d}", f"Demo recipe {i}", fields)


class Report:
    """Lines of the demo's report."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        """Add one line."""
        self.lines.append(text)

    def stream(self, label: str, items: int, seconds: float, requests: int) -> None:
        """A streaming measurement."""
        rate = items / seconds if seconds else 0.0
        self.add(
            f"  {label:<34}{items:>7,} items {seconds:>7.2f} s {rate:>9,.0f} items/s "
            f"{requests:>5} requests"
        )

    def bulk(self, report: BulkReport, concurrency: int) -> None:
        """A bulk-write measurement."""
        failures = report.counts["failed"] + report.counts["not_attempted"]
        self.add(
            f"  bulk import (concurrency {concurrency}): {report.total:,} writes in "
            f"{report.elapsed:.2f} s = {report.throughput:,.0f} writes/s"
        )
        self.add(
            f"  retries {report.retries}, rate limited {report.rate_limited}, failures {failures}"
        )

    def __str__(self) -> str:
        return "\n".join(self.lines)


async def read_tour(
    butter: ButterClient, report: Report, *, page_type: str | None, collection: str | None
) -> None:
    """Stream posts with and without prefetch, then pages and a collection."""
    before = butter.stats.requests
    items, seconds = await timed_stream(butter.posts.list())
    report.stream("posts, prefetch on (default)", items, seconds, butter.stats.requests - before)
    before = butter.stats.requests
    slow_items, slow_seconds = await timed_stream(butter.posts.list(prefetch=1))
    report.stream("posts, prefetch off", slow_items, slow_seconds, butter.stats.requests - before)
    if seconds:
        report.add(f"  prefetch makes the same walk {slow_seconds / seconds:.1f}x faster")
    for label, pager in (
        (f"pages of type {page_type!r}", butter.pages.list(page_type) if page_type else None),
        ("single pages", butter.pages.list("*")),
        (f"collection {collection!r}", butter.collections.list(collection) if collection else None),
    ):
        if pager is None:
            continue
        before = butter.stats.requests
        items, seconds = await timed_stream(pager)
        report.stream(label, items, seconds, butter.stats.requests - before)


async def run_demo(
    *,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    posts: int,
    pages: int,
    items: int,
    writes: int,
    latency: float,
    concurrency: int,
    progress: Callable[[BulkProgress], None] | None = None,
) -> str:
    """Run the demo and return its report; `progress` is fed the bulk import's progress."""
    report = Report()
    if token:
        await account_demo(report, token, write_token, base_url, writes, concurrency, progress)
        return str(report)
    started = time.perf_counter()
    spec = SeedSpec(posts=posts, pages=pages, collection_items=items)
    async with Emulator(seed=spec, latency=latency) as emu:
        report.add(
            f"butter_async demo: embedded emulator at {emu.url}, "
            f"{latency * 1000:.0f} ms latency per request"
        )
        report.add(
            f"  seeded {len(emu.store.posts):,} posts, {pages:,} recipe pages, "
            f"{items:,} collection items in {time.perf_counter() - started:.2f} s"
        )
        async with emu.client() as butter:
            await read_tour(butter, report, page_type="recipe", collection="products")
            bulk = await butter.bulk_run(
                demo_pages(writes), concurrency=concurrency, keep_results=False, progress=progress
            )
            report.bulk(bulk, concurrency)
            created = sum(1 for slug in emu.store.page_slugs() if slug.startswith("demo-recipe-"))
            report.add(
                f"  verified in the emulator's store: {created:,} of {writes:,} pages, "
                f"no duplicates"
            )
    report.add(f"done in {time.perf_counter() - started:.1f} s")
    return str(report)


async def account_demo(
    report: Report,
    token: str,
    write_token: str | None,
    base_url: str | None,
    writes: int,
    concurrency: int,
    progress: Callable[[BulkProgress], None] | None = None,
) -> None:
    """The read half against a real account; writes only when a write token was given."""
    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    async with ButterClient(token, write_token, **options) as butter:
        report.add(
            f"butter_async demo against {butter.base_url} "
            f"({'with writes' if write_token else 'read-only'})"
        )
        await read_tour(butter, report, page_type=None, collection=None)
        if not write_token:
            return
        stamp = int(time.time())
        slugs = [f"butter-async-demo-{stamp}-{i}" for i in range(writes)]
        created = await butter.bulk_run(
            (CreatePost(slug, f"butter_async demo {slug}", {"status": "draft"}) for slug in slugs),
            concurrency=concurrency,
            keep_results=False,
            progress=progress,
        )
        report.bulk(created, concurrency)
        cleaned = await butter.bulk_run(
            (DeletePost(slug) for slug in slugs), concurrency=concurrency, keep_results=False
        )
        report.add(f"  removed the {cleaned.counts['deleted']:,} demo draft posts again")
