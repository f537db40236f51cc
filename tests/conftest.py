"""Shared fixtures, and the aioresponses compatibility shim for aiohttp 3.14."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core

from butter_async import ButterClient, JournalError, MemoryCache, RedisCache, RetryPolicy
from butter_async.bulk.journal import read_journal
from butter_async.cache import CacheBackend
from butter_async.testing import RedisServer

# Every event loop of the suite runs in asyncio debug mode: never-awaited coroutines, calls
# from the wrong thread and unclosed resources are reported, and turned into failures by
# `filterwarnings = error`.
os.environ.setdefault("PYTHONASYNCIODEBUG", "1")

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
READ_TOKEN = "read-secret-0123456789"
WRITE_TOKEN = "write-secret-9876543210"
BASE_URL = "https://api.buttercms.com/v2/"

# aioresponses 0.7.9 builds ClientResponse without the `stream_writer` keyword that
# aiohttp 3.14 requires (pnuckowski/aioresponses#289). Supply it only when asked for;
# remove this once aioresponses ships the fix.
if "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters:

    class _CompatClientResponse(aiohttp.ClientResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(*args, **kwargs)

    aioresponses_core.ClientResponse = _CompatClientResponse  # type: ignore[misc]


def recorded(name: str) -> dict[str, Any]:
    """The one recorded exchange in `tests/fixtures/recorded/<name>.json`."""
    exchanges: list[dict[str, Any]] = json.loads((RECORDED / f"{name}.json").read_text())
    return exchanges[0]


def finished_in(journal: Path) -> int:
    """Operations with an outcome in a journal another process may be writing (0 if not yet)."""
    try:
        _, counts = read_journal(journal)
    except JournalError:  # not written yet
        return 0
    return sum(n for state, n in counts.items() if state != "started")


def recipe_fields(**overrides: Any) -> dict[str, Any]:
    """Every field of the emulator's seeded `recipe` page type; `overrides` replace some."""
    fields: dict[str, Any] = {
        "headline": "Soup",
        "servings": 2,
        "hero_image": "",
        "ingredients": [{"name": "leek", "grams": 200}],
        "seo": {"title": "Soup", "description": "Warm"},
        "sections": [{"hero": {"headline": "Hot soup", "image": ""}}],
    }
    return {**fields, **overrides}


FAST_RETRIES = RetryPolicy(max_retries=3, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    """aioresponses, letting loopback traffic (the emulator) through."""
    with aioresponses(passthrough=["http://127.0.0.1"]) as mock:
        yield mock


@pytest_asyncio.fixture
async def client() -> AsyncIterator[ButterClient]:
    """A client for the real API URL, to be used with `mocked`."""
    async with ButterClient(READ_TOKEN, WRITE_TOKEN, retry=FAST_RETRIES) as butter:
        yield butter


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Callable[..., CacheBackend]:
    """A factory of each cache backend (Redis: a real server, a fresh key prefix each)."""
    if request.param == "memory":
        return MemoryCache
    url = request.getfixturevalue("redis_url")
    prefix = f"test-{request.node.name}-{time.monotonic_ns()}:"
    return lambda **options: RedisCache(url=url, prefix=prefix, **options)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis server of its own on a free loopback port, for the whole session."""
    with RedisServer() as url:
        yield url


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """A real loopback server answering every GET with `handler`; yields its API base URL."""
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v2/"
    finally:
        await runner.cleanup()
