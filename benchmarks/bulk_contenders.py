"""The contenders of the bulk benchmarks: the BulkWriter, the hand loops a user could write
(plain aiohttp, aiohttp + orjson, a naive resend loop), ButterCMS's paced guide, and what
they left in the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson

from butter_async import ButterClient, RetryPolicy
from butter_async.operations import CreatePage

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
