"""Quickstart: read, filter and stream content; runs against the embedded emulator by default.

Set BUTTER_READ_TOKEN to run it against your real ButterCMS account instead (read-only).
"""

from __future__ import annotations

import asyncio
import os
import time

from butter_async import ButterClient
from butter_async.testing import Emulator, SeedSpec


async def tour(butter: ButterClient) -> None:
    """Fetch a post, stream every post, read pages and a collection."""
    started = time.perf_counter()
    count = 0
    async for _post in butter.posts.list(exclude_body=True):
        count += 1
    elapsed = time.perf_counter() - started
    print(f"streamed {count} posts in {elapsed:.2f}s ({count / elapsed:,.0f} posts/s)")
    latest = await butter.posts.list().first()
    if latest is not None:
        post = (await butter.posts.get(latest.slug)).post
        author = post.author.slug if post.author else "nobody"
        print(f"latest post: {post.title!r} by {author}")
    singles = await butter.pages.list("*").collect(limit=5)
    print(f"single pages: {[page.slug for page in singles]}")
    print(f"requests: {butter.stats.requests}, retries: {butter.stats.retries}")


async def main() -> None:
    token = os.environ.get("BUTTER_READ_TOKEN")
    if token:
        async with ButterClient(token) as butter:
            await tour(butter)
        return
    async with Emulator(seed=SeedSpec(posts=5000, pages=200), latency=0.02) as emulator:
        print(f"embedded emulator at {emulator.url} (20 ms latency per request)")
        async with emulator.client() as butter:
            await tour(butter)


if __name__ == "__main__":
    asyncio.run(main())
