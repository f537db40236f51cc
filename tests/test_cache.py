"""Coalesced and cached reads, stale serving, and webhook invalidation, end to end."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from butter_async import (
    ButterClient,
    CacheBackendError,
    NotFoundError,
    RetryPolicy,
    ServerError,
)
from butter_async.cache import CacheBackend, MemoryCache, RedisCache, event_tags, read_tags
from butter_async.cache.tags import write_tags
from butter_async.errors import ConfigurationError
from butter_async.testing import Emulator, Fault, SeedSpec
from butter_async.webhooks import DEFAULT_SECRET_HEADER, aiohttp_handler, parse_event

SECRET = "hook-secret-5f2c"
SECRET_HEADERS = {DEFAULT_SECRET_HEADER: SECRET}

NO_RETRIES = RetryPolicy(max_retries=0)
SLUG = "simple-page"


def page_reads(emu: Emulator, slug: str = SLUG) -> int:
    """How many GETs of one single page reached the emulator."""
    return sum(1 for r in emu.requests if r.method == "GET" and r.path.endswith(f"/{slug}/"))


def later(by: float) -> Callable[[], float]:
    """A clock `by` seconds ahead of now, for a cache to judge its entries' age by."""
    return lambda: time.time() + by


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(latency=0.02, seed=SeedSpec(pages=2)) as emulator:
        yield emulator


# -- coalescing (on by default, no cache) ----------------------------------------------


async def test_a_thousand_identical_gets_send_one_request(emu: Emulator) -> None:
    async with emu.client() as butter:
        pages = await asyncio.gather(*(butter.pages.get("*", SLUG) for _ in range(1000)))
        assert page_reads(emu) == 1
        assert butter.stats.cache.coalesced == 999
        assert {page.slug for page in pages} == {SLUG}
        # each caller has its own model: changing one changes no other
        pages[0].fields["extra"] = "mine"
        assert "extra" not in pages[1].fields
        assert pages[0] is not pages[1]


async def test_different_reads_are_not_coalesced(emu: Emulator) -> None:
    async with emu.client() as butter:
        await asyncio.gather(butter.pages.get("*", SLUG), butter.pages.get("*", SLUG, locale="fr"))
        assert page_reads(emu) == 2


async def test_cancelling_one_caller_leaves_the_others_their_answer(emu: Emulator) -> None:
    async with emu.client() as butter:
        first = asyncio.ensure_future(butter.pages.get("*", SLUG))
        second = asyncio.ensure_future(butter.pages.get("*", SLUG))
        third = asyncio.ensure_future(butter.pages.get("*", SLUG))
        await asyncio.sleep(0)  # all three are waiting on the one request
        first.cancel()
        assert (await second).slug == (await third).slug == SLUG
        assert first.cancelled()
        assert page_reads(emu) == 1


async def test_an_error_reaches_every_waiter(emu: Emulator) -> None:
    emu.faults.add(Fault("status", path=f"pages/*/{SLUG}/", status=500, times=1))
    async with emu.client(retry=NO_RETRIES) as butter:
        results = await asyncio.gather(
            *(butter.pages.get("*", SLUG) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, ServerError) for result in results)
        assert page_reads(emu) == 1
        assert (await butter.pages.get("*", SLUG)).slug == SLUG  # the next read asks again


async def test_coalescing_can_be_turned_off(emu: Emulator) -> None:
    async with emu.client(coalesce=False) as butter:
        await asyncio.gather(*(butter.pages.get("*", SLUG) for _ in range(5)))
        assert page_reads(emu) == 5
        assert butter.stats.cache.coalesced == 0


async def test_without_a_cache_sequential_reads_each_ask(emu: Emulator) -> None:
    async with emu.client() as butter:
        await butter.pages.get("*", SLUG)
        await butter.pages.get("*", SLUG)
        assert page_reads(emu) == 2


# -- the read cache --------------------------------------------------------------------


async def test_a_cached_read_is_answered_without_a_request(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend()) as butter:
        first = await butter.pages.get("*", SLUG)
        again = await butter.pages.get("*", SLUG)
        assert page_reads(emu) == 1
        assert again == first and again is not first
        assert (butter.stats.cache.hits, butter.stats.cache.misses) == (1, 1)
        assert butter.stats.cache.calls_saved == 1


async def test_lists_and_collections_are_cached_too(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend()) as butter:
        for _ in range(2):
            posts = await butter.posts.list().collect(limit=5)
            feed = await butter.feeds.rss()
        assert butter.stats.cache.hits == 2
        assert posts and feed


async def test_preview_reads_bypass_the_cache_unless_asked(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend(), preview=True) as butter:
        await butter.pages.get("*", SLUG)
        await butter.pages.get("*", SLUG)
        assert page_reads(emu) == 2
        assert butter.stats.cache.hits == 0
    async with emu.client(cache=backend(cache_preview=True), preview=True) as butter:
        await butter.pages.get("*", SLUG)
        await butter.pages.get("*", SLUG)
        assert page_reads(emu) == 3


async def test_accounts_never_share_entries(emu: Emulator, redis_url: str) -> None:
    prefix = f"accounts-{time.monotonic_ns()}:"
    async with emu.client(cache=RedisCache(url=redis_url, prefix=prefix)) as butter:
        await butter.pages.get("*", SLUG)
    other = ButterClient(
        "another-account-token-000",
        base_url=emu.url,
        cache=RedisCache(url=redis_url, prefix=prefix),
        retry=NO_RETRIES,
    )
    async with other:
        with pytest.raises(Exception):  # noqa: B017  (the emulator refuses the other token)
            await other.pages.get("*", SLUG)
    assert page_reads(emu) == 2


async def test_stale_entries_are_served_while_one_refresh_runs(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend(ttl=60, stale_while_revalidate=300)) as butter:
        await butter.pages.get("*", SLUG)
        butter.cache.clock = later(100)
        stale = await asyncio.gather(*(butter.pages.get("*", SLUG) for _ in range(10)))
        assert {page.slug for page in stale} == {SLUG}
        assert page_reads(emu) == 1  # served at once, before the refresh landed
        await butter.cache.wait_for_refreshes()
        assert page_reads(emu) == 2
        assert butter.stats.cache.stale_served == 10
        assert butter.stats.cache.refreshes == 1
        await butter.pages.get("*", SLUG)  # the refreshed entry is fresh
        assert page_reads(emu) == 2


async def test_an_outage_is_ridden_out_on_stale_copies(
    emu: Emulator, backend: Callable[..., CacheBackend], caplog: pytest.LogCaptureFixture
) -> None:
    cache = backend(ttl=60, stale_while_revalidate=0, stale_if_error=3600)
    async with emu.client(cache=cache, retry=NO_RETRIES) as butter:
        fresh = await butter.pages.get("*", SLUG)
        butter.cache.clock = later(600)
        for status in (503, 500, 429):
            emu.faults.add(Fault("status", path="pages/", status=status, times=1))
            with caplog.at_level(logging.WARNING, logger="butter_async.cache"):
                assert await butter.pages.get("*", SLUG) == fresh
        assert butter.stats.cache.stale_if_error == 3
        assert "serving a stale copy" in caplog.text
        butter.cache.clock = later(3700)  # past the stale-if-error window: the error shows
        emu.faults.add(Fault("status", path="pages/", status=503, times=1))
        with pytest.raises(ServerError):
            await butter.pages.get("*", SLUG)


async def test_with_a_stale_copy_at_hand_a_failure_is_not_retried(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    patient = RetryPolicy(max_retries=3, backoff_base=0.0, backoff_max=0.0)
    cache = backend(ttl=60, stale_while_revalidate=0)
    async with emu.client(cache=cache, retry=patient) as butter:
        fresh = await butter.pages.get("*", SLUG)
        butter.cache.clock = later(600)
        emu.faults.add(Fault("status", path="pages/", status=503, times=1))
        assert await butter.pages.get("*", SLUG) == fresh  # served after one attempt
        assert (page_reads(emu), butter.stats.retries) == (2, 0)
        butter.cache.clock = later(100_000)  # no copy to fall back on: the read retries
        emu.faults.add(Fault("status", path="pages/", status=503, times=1))
        assert await butter.pages.get("*", SLUG) == fresh
        assert (page_reads(emu), butter.stats.retries) == (4, 1)


async def test_an_invalidated_copy_is_never_a_hit_but_rides_out_an_outage(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    cache = backend(ttl=3600, stale_if_error=3600)
    async with emu.client(cache=cache, retry=NO_RETRIES) as butter:
        before = await butter.pages.get("*", SLUG)
        await butter.cache.clear()
        await butter.pages.get("*", SLUG)  # invalidated: asked again, not a hit
        assert (page_reads(emu), butter.stats.cache.hits) == (2, 0)
        await butter.cache.clear()
        # ButterCMS fails (a spent monthly quota): the last copy answers instead
        emu.faults.add(Fault("status", path="pages/", status=429, times=1))
        assert await butter.pages.get("*", SLUG) == before
        assert butter.stats.cache.stale_if_error == 1
        # but a page that is gone is gone
        emu.faults.add(Fault("status", path="pages/", status=404, times=1))
        with pytest.raises(NotFoundError):
            await butter.pages.get("*", SLUG)


async def test_a_not_found_is_an_answer_not_an_outage(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    cache = backend(ttl=1, stale_while_revalidate=0)
    async with emu.client(cache=cache, retry=NO_RETRIES) as butter:
        await butter.pages.get("*", SLUG)
        butter.cache.clock = later(5)
        emu.faults.add(Fault("status", path="pages/", status=404, times=1))
        with pytest.raises(NotFoundError):
            await butter.pages.get("*", SLUG)


async def test_answers_over_the_entry_size_are_not_kept(emu: Emulator) -> None:
    async with emu.client(cache=MemoryCache(max_entry_bytes=64)) as butter:
        await butter.pages.get("*", SLUG)
        await butter.pages.get("*", SLUG)
        assert page_reads(emu) == 2


async def test_a_redis_outage_costs_requests_not_page_views(emu: Emulator) -> None:
    cache = RedisCache(url="redis://127.0.0.1:9/0", socket_timeout=0.2)
    async with emu.client(cache=cache) as butter:
        assert (await butter.pages.get("*", SLUG)).slug == SLUG
        assert butter.stats.cache.backend_errors >= 1
        with pytest.raises(CacheBackendError, match="could not invalidate page:home"):
            await butter.cache.invalidate_tags("page:home")


async def test_a_hanging_redis_is_waited_on_once_then_skipped(emu: Emulator) -> None:
    connections: list[asyncio.StreamWriter] = []

    async def hang(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # accepts, reads nothing, answers nothing

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cache = RedisCache(url=f"redis://127.0.0.1:{port}/0", socket_timeout=0.2, local_copies=False)
    async with server, emu.client(cache=cache) as butter:
        for _ in range(3):
            assert (await butter.pages.get("*", SLUG)).slug == SLUG
        assert butter.stats.cache.backend_errors == 1  # one wait of 0.2 s, not three
        assert butter.stats.cache.bypassed == 2
        assert page_reads(emu) == 3
        for writer in connections:
            writer.close()


async def test_garbage_in_redis_is_a_miss_never_an_error(emu: Emulator, redis_url: str) -> None:
    prefix = f"garbage-{time.monotonic_ns()}:"
    async with emu.client(cache=RedisCache(url=redis_url, prefix=prefix)) as butter:
        await butter.pages.get("*", SLUG)
        redis = Redis.from_url(redis_url)
        keys = await redis.keys(prefix + "*")
        for garbage in (b"\xff\xfe not json", b'{"at": "noon", "tokens": 3, "body": 1}'):
            for key in keys:
                await redis.set(key, garbage)
            async with emu.client(cache=RedisCache(url=redis_url, prefix=prefix)) as other:
                assert (await other.pages.get("*", SLUG)).slug == SLUG
                assert other.stats.cache.misses == 1
        await redis.aclose()
        assert page_reads(emu) == 3


async def test_the_webhook_route_says_when_the_cache_could_not_be_invalidated(
    emu: Emulator,
) -> None:
    cache = RedisCache(url="redis://127.0.0.1:9/0", socket_timeout=0.2)
    async with emu.client(cache=cache) as butter:
        app = web.Application()
        app.router.add_post("/hooks", aiohttp_handler(invalidate=butter, secret=SECRET))
        async with TestServer(app, host="127.0.0.1") as hooks, aiohttp.ClientSession() as http:
            body = {"data": {"id": "home", "page_type": "*"}, "webhook": {"event": "page.draft"}}
            async with http.post(
                hooks.make_url("/hooks"), json=body, headers=SECRET_HEADERS
            ) as answer:
                assert answer.status == 503
                assert "could not invalidate page:home" in (await answer.json())["detail"]


# -- invalidation ----------------------------------------------------------------------


async def test_manual_invalidation_and_clear(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend()) as butter:
        await butter.pages.get("*", SLUG)
        await butter.posts.list().collect(limit=1)
        await butter.cache.invalidate_tags(f"page:{SLUG}")
        await butter.pages.get("*", SLUG)
        await butter.posts.list().collect(limit=1)
        assert page_reads(emu) == 2
        assert butter.stats.cache.hits == 1  # the post list was untouched
        await butter.cache.clear()
        await butter.posts.list().collect(limit=1)
        assert butter.stats.cache.hits == 1


async def test_an_invalidation_by_one_worker_clears_it_for_all(
    emu: Emulator, redis_url: str
) -> None:
    prefix = f"workers-{time.monotonic_ns()}:"
    worker_a = emu.client(cache=RedisCache(url=redis_url, prefix=prefix))
    worker_b = emu.client(cache=RedisCache(url=redis_url, prefix=prefix))
    slug = "recipe-000001"
    async with worker_a, worker_b:
        await worker_a.pages.get("recipe", slug)
        await worker_b.pages.get("recipe", slug)
        assert page_reads(emu, slug) == 1  # worker b read worker a's entry
        await worker_b.pages.update("recipe", slug, fields={"headline": "New"})
        await worker_b.cache.invalidate_tags(f"page:{slug}")
        # the invalidating worker sees it at once
        assert (await worker_b.pages.get("recipe", slug)).fields["headline"] == "New"
        # the other hears it over pub/sub: its local copy stops answering within moments,
        # and it then finds worker b's fresh entry in Redis
        started = time.monotonic()
        while (await worker_a.pages.get("recipe", slug)).fields["headline"] != "New":
            assert time.monotonic() - started < 1.0, "worker a never heard the renewal"
            await asyncio.sleep(0.001)  # the renewal travels through the Redis server
        assert page_reads(emu, slug) == 2


async def test_a_dropped_subscription_never_leaves_a_stale_copy_answering(
    emu: Emulator, redis_url: str
) -> None:
    prefix = f"dropped-{time.monotonic_ns()}:"
    worker_a = emu.client(cache=RedisCache(url=redis_url, prefix=prefix))
    worker_b = emu.client(cache=RedisCache(url=redis_url, prefix=prefix))
    slug = "recipe-000000"
    async with worker_a, worker_b:
        await worker_a.pages.get("recipe", slug)
        await worker_a.pages.get("recipe", slug)  # answered from worker a's own copy
        cache_a = worker_a.cache.backend
        assert isinstance(cache_a, RedisCache) and cache_a.hearing_renewals
        redis = Redis.from_url(redis_url)
        await redis.client_kill_filter(_type="pubsub")  # the subscription drops unannounced
        await redis.aclose()
        started = time.monotonic()
        while cache_a.hearing_renewals:
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.001)  # worker a notices the closed connection
        await worker_b.pages.update("recipe", slug, fields={"headline": "While deaf"})
        await worker_b.cache.invalidate_tags(f"page:{slug}")  # published to nobody in a
        assert (await worker_a.pages.get("recipe", slug)).fields["headline"] == "While deaf"


async def test_without_local_copies_every_hit_asks_redis(emu: Emulator, redis_url: str) -> None:
    cache = RedisCache(url=redis_url, prefix=f"plain-{time.monotonic_ns()}:", local_copies=False)
    async with emu.client(cache=cache) as butter:
        for _ in range(3):
            await butter.pages.get("*", SLUG)
        await butter.cache.invalidate_tags(f"page:{SLUG}")
        await butter.pages.get("*", SLUG)
        assert page_reads(emu) == 2
        assert butter.stats.cache.hits == 2


def event(name: str, **data: Any) -> Any:
    return parse_event(
        {"data": data, "webhook": {"event": name, "target": "https://x"}},
        allow_unauthenticated=True,
    )


def test_each_documented_event_names_what_it_makes_stale() -> None:
    page = event("page.published", id="home", page_type="landing-page")
    named = {"page:home", "pages:landing-page", "pages:search"}
    assert set(event_tags(page)) == named | {"references"}
    assert set(event_tags(page, references=False)) == named
    untyped = event("page.delete", id="home")
    assert "pages:lists" in event_tags(untyped)
    assert set(event_tags(event("post.published", id="hello", _id=3))) == {"post:hello", "blog"}
    item = event("collectionitem.delete", id="promotions", itemid="/v2/content/?keys=x[_id=1]")
    assert event_tags(item) == ("collection:promotions", "references")
    assert event_tags(item, references=False) == ("collection:promotions",)
    assert event_tags(event("media.videouploaded", id="v1")) == ()
    assert event_tags(event("brand.new", id="x")) == ("all",)


DOCS = Path(__file__).parent / "fixtures" / "docs"


@pytest.mark.parametrize("name", sorted(path.stem for path in DOCS.glob("webhook_*.json")))
def test_the_docs_example_of_each_event_makes_its_content_stale(name: str) -> None:
    payload = json.loads((DOCS / f"{name}.json").read_text())["payload"]
    tags = set(event_tags(parse_event(payload, allow_unauthenticated=True)))
    kind, data = payload["webhook"]["event"].split(".")[0], payload["data"]
    expected = {
        "page": {
            f"page:{data['id']}",
            f"pages:{data.get('page_type')}",
            "pages:search",
            "references",
        },
        "post": {f"post:{data['id']}", "blog"},
        "collectionitem": {f"collection:{data['id']}", "references"},
        "media": set(),
    }[kind]
    assert tags == expected
    # and each tag is one a read of that content carries
    reads = {
        "page": read_tags(["pages", data.get("page_type", "*"), data["id"]], {}),
        "post": read_tags(["posts", data["id"]], {}),
        "collectionitem": read_tags(["content"], {"keys": data["id"]}),
        "media": (),
    }[kind]
    assert not tags or tags & set(reads)


def test_each_read_carries_the_tags_of_what_it_holds() -> None:
    assert "page:home" in read_tags(["pages", "*", "home"], {})
    assert "pages:recipe" in read_tags(["pages", "recipe"], {})
    assert "pages:search" in read_tags(["pages", "search"], {"query": "x"})
    assert {"post:hello", "blog"} <= set(read_tags(["posts", "hello"], {}))
    for family in ("posts", "feeds", "authors", "categories", "tags"):
        assert "blog" in read_tags([family], {})
    assert {"collection:a", "collection:b"} <= set(read_tags(["content"], {"keys": "a,b[x=1]"}))
    assert "collection:a" in read_tags(["content", "a", 7], {})
    # what a reference field can embed: pages and collection items, in pages and items
    for segments in (["pages", "*", "home"], ["pages", "recipe"], ["pages", "search"]):
        assert "references" in read_tags(segments, {})
    assert "references" in read_tags(["content", "a"], {})
    assert "references" not in read_tags(["posts", "hello"], {})


def test_each_write_makes_stale_what_its_webhook_will() -> None:
    page = write_tags(["pages", "recipe", "r1"], {"fields": {}}, references=False)
    assert set(page) == {"page:r1", "pages:recipe", "pages:search"}
    assert "pages:lists" in write_tags(["pages", "*", "r1"], {}, references=False)
    created = write_tags(["pages"], {"slug": "new", "page_type": "recipe"}, references=True)
    assert set(created) == {"page:new", "pages:recipe", "pages:search", "references"}
    renamed = write_tags(["posts", "old"], {"slug": "renamed"}, references=True)
    assert set(renamed) == {"post:old", "blog"}  # blog: every post read, the new slug's too
    assert "blog" in read_tags(["posts", "renamed"], {})
    assert set(write_tags(["posts"], {"slug": "hello"}, references=True)) == {"post:hello", "blog"}
    item = write_tags(["content", "products", 7], None, references=True)
    assert item == ("collection:products", "references")
    assert write_tags(["content"], {"key": "products"}, references=False) == (
        "collection:products",
    )


async def test_a_webhook_makes_the_next_read_fresh(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    # the editor writes through another client, as the dashboard or another service would
    async with emu.client(cache=backend(ttl=3600)) as butter, emu.client() as editor:
        app = web.Application()
        app.router.add_post("/hooks/butter", aiohttp_handler(invalidate=butter, secret=SECRET))
        async with TestServer(app, host="127.0.0.1") as hooks:
            emu.add_webhook(str(hooks.make_url("/hooks/butter")), headers=SECRET_HEADERS)
            page = await butter.pages.get("recipe", "recipe-000001")
            await butter.pages.get("recipe", "recipe-000001")
            assert butter.stats.cache.hits == 1
            await editor.pages.update(
                "recipe", "recipe-000001", fields={"headline": "Changed by the editor"}
            )
            started = time.perf_counter()
            await emu.drain_webhooks()
            fresh = await butter.pages.get("recipe", "recipe-000001")
            assert time.perf_counter() - started < 1.0
        assert [d.status for d in emu.webhook_deliveries] == [200]
        assert fresh.fields["headline"] == "Changed by the editor" != page.fields["headline"]
        assert butter.stats.cache.invalidations == 1


@asynccontextmanager
async def editing(emu: Emulator, butter: ButterClient) -> AsyncIterator[ButterClient]:
    """An editor's client (as the dashboard or another service writes), and an aiohttp app
    whose `aiohttp_handler` invalidates `butter` on the emulator's webhooks."""
    app = web.Application()
    app.router.add_post("/hooks/butter", aiohttp_handler(invalidate=butter, secret=SECRET))
    async with TestServer(app, host="127.0.0.1") as hooks, emu.client() as editor:
        emu.add_webhook(str(hooks.make_url("/hooks/butter")), headers=SECRET_HEADERS)
        yield editor


def menu_reads(emu: Emulator) -> int:
    """GETs of the seeded navigation menu, whose items embed `navigation_menu_item`s."""
    return sum(1 for r in emu.requests if r.method == "GET" and "/navigation_menu/" in r.path)


@pytest.mark.parametrize("references", [True, False], ids=["references", "no-references"])
async def test_an_item_event_makes_stale_what_may_embed_the_item(
    emu: Emulator, backend: Callable[..., CacheBackend], references: bool
) -> None:
    cache = backend(ttl=3600, content_references=references)
    async with emu.client(cache=cache) as butter, editing(emu, butter) as editor:
        menu = [item async for item in butter.collections.list("navigation_menu")]
        await butter.pages.get("*", SLUG)
        await editor.collections.update_item("navigation_menu_item", 735745, {"label": "Start"})
        await emu.drain_webhooks()
        again = [item async for item in butter.collections.list("navigation_menu")]
        await butter.pages.get("*", SLUG)
    assert [d.status for d in emu.webhook_deliveries] == [200]
    labels = [entry["label"] for entry in again[0].fields["menu_items"]]
    assert menu[0].fields["menu_items"][0]["label"] == "Home"
    # the menu embeds the changed item: with references it is asked for again and shows
    # it, and so is every page (one may reference it); without, both stay cached
    assert labels[0] == ("Start" if references else "Home")
    assert menu_reads(emu) == page_reads(emu) == (2 if references else 1)


async def test_a_post_event_makes_every_post_detail_stale(
    backend: Callable[..., CacheBackend],
) -> None:
    emu = Emulator(seed=SeedSpec(posts=3))
    async with emu, emu.client(cache=backend(ttl=3600)) as butter, editing(emu, butter) as editor:
        slugs = [post.slug async for post in butter.posts.list()]
        older = await butter.posts.get(slugs[1])
        assert older.next_post is not None
        newer = older.next_post.slug
        await butter.posts.get(newer)
        await editor.posts.update(newer, title="Retitled", new_slug="renamed")
        await emu.drain_webhooks()
        # the renamed post's old slug no longer answers from the cache ...
        with pytest.raises(NotFoundError):
            await butter.posts.get(newer)
        # ... and its neighbour's detail shows its new slug and title
        again = await butter.posts.get(slugs[1])
    assert again.next_post is not None
    assert (again.next_post.slug, again.next_post.title) == ("renamed", "Retitled")


async def test_a_write_through_the_client_makes_its_own_reads_stale(
    backend: Callable[..., CacheBackend],
) -> None:
    emu = Emulator(seed=SeedSpec(pages=1, posts=1, collection_items=1))
    async with emu, emu.client(cache=backend(ttl=3600)) as butter:  # and no webhooks
        await butter.pages.get("recipe", "recipe-000000")
        before = [page.slug async for page in butter.pages.list("recipe")]
        post = await butter.posts.list().first()
        assert post is not None
        await butter.posts.get(post.slug)
        [item] = [item async for item in butter.collections.list("products")]
        await butter.pages.update("recipe", "recipe-000000", fields={"headline": "New"})
        await butter.posts.update(post.slug, title="New title")
        await butter.collections.update_item("products", item.id, {"name": "New name"})
        page = await butter.pages.get("recipe", "recipe-000000")
        detail = await butter.posts.get(post.slug)
        listed = {post.slug: post async for post in butter.posts.list()}[post.slug]
        [changed] = [item async for item in butter.collections.list("products")]
        created = await butter.pages.create(
            "recipe", "brand-new", "Brand new", fields=dict(page.fields), status="published"
        )
        pages = [page.slug async for page in butter.pages.list("recipe")]
    assert page.fields["headline"] == "New"
    assert detail.post.title == listed.title == "New title"
    assert changed.fields["name"] == "New name"
    assert created.outcome == "created"
    assert "brand-new" in pages and "brand-new" not in before


async def test_a_write_whose_answer_was_lost_still_makes_its_reads_stale(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    patient = RetryPolicy(max_retries=2, backoff_base=0.0, backoff_max=0.0)
    async with emu.client(cache=backend(ttl=3600), retry=patient) as butter:
        pages = [page.slug async for page in butter.pages.list("recipe")]
        first = await butter.pages.get("recipe", pages[0])
        # applied, then the connection drops: the create is found made by reading it back
        emu.faults.add(Fault("reset_after", path="pages/", methods=("POST",), times=1))
        created = await butter.pages.create(
            "recipe", "made-unseen", "Made", dict(first.fields), status="published"
        )
        # the delete's answer is lost too; its retry answers 404: done
        emu.faults.add(Fault("reset_after", path="pages/", methods=("DELETE",), times=1))
        await butter.pages.delete(pages[0], page_type="recipe")
        after = [page.slug async for page in butter.pages.list("recipe")]
        with pytest.raises(NotFoundError):
            await butter.pages.get("recipe", pages[0])
    assert created.outcome == "created" and created.confirmed_by_read
    assert "made-unseen" in after and pages[0] not in after


async def test_a_verified_write_reads_fresh_even_after_a_read_raced_it(
    backend: Callable[..., CacheBackend],
) -> None:
    emu = Emulator(seed=SeedSpec(pages=1), processing_delay=1.0)
    async with emu, emu.client(cache=backend(ttl=3600)) as butter:
        await butter.pages.get("recipe", "recipe-000000")
        update = asyncio.ensure_future(
            butter.pages.update("recipe", "recipe-000000", fields={"headline": "New"}, verify=True)
        )
        # until the PATCH is accepted (not yet applied): the emulator's log has no event
        while not any(r.method == "PATCH" for r in emu.requests):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        raced = await butter.pages.get("recipe", "recipe-000000")  # caches the old content
        await update
        fresh = await butter.pages.get("recipe", "recipe-000000")
    assert raced.fields["headline"] != "New"
    assert fresh.fields["headline"] == "New"


async def test_a_write_is_made_though_the_cache_cannot_be_told(emu: Emulator) -> None:
    cache = RedisCache(url="redis://127.0.0.1:9/0", socket_timeout=0.2)
    async with emu.client(cache=cache) as butter:
        result = await butter.pages.update("recipe", "recipe-000001", fields={"headline": "x"})
        assert result.outcome == "updated"
        assert butter.stats.cache.backend_errors == 1
        # the store is then given time, as reads give it: the next write does not try it
        await butter.pages.update("recipe", "recipe-000001", fields={"headline": "y"})
        assert butter.stats.cache.backend_errors == 1
    assert emu.store.page("recipe-000001").fields[None]["headline"] == "y"


async def test_a_read_after_an_invalidation_never_joins_an_older_read(emu: Emulator) -> None:
    async with emu.client(cache=MemoryCache()) as butter:
        before = asyncio.ensure_future(butter.pages.get("*", SLUG))
        await asyncio.sleep(0)
        await butter.cache.invalidate_tags(f"page:{SLUG}")
        after = await butter.pages.get("*", SLUG)
        await before
        assert after.slug == SLUG
        assert page_reads(emu) == 2


def test_handler_needs_something_to_do() -> None:
    with pytest.raises(ConfigurationError, match="needs on_event, invalidate=, or both"):
        aiohttp_handler()


def test_settings_are_checked_and_secrets_stay_out_of_reprs() -> None:
    with pytest.raises(ConfigurationError):
        MemoryCache(ttl=0)
    with pytest.raises(ConfigurationError):
        MemoryCache(stale_if_error=-1)
    with pytest.raises(ConfigurationError):
        RedisCache(url="http://localhost:6379")
    cache = RedisCache(url="redis://:hunter2-secret@localhost:6379/0")
    assert "hunter2" not in repr(cache)
    assert "REDACTED" in repr(cache)
    in_query = RedisCache(url="redis://localhost:6379/0?password=hunter2-secret")
    assert "hunter2" not in repr(in_query) and "REDACTED" in repr(in_query)
    assert "hunter2" not in repr(ButterClient("read-token-0123", cache=in_query).cache)


async def test_closing_the_client_stops_background_refreshes(emu: Emulator) -> None:
    emu.state.latency = 1.0
    butter = emu.client(cache=MemoryCache(ttl=1))
    async with butter:
        emu.state.latency = 0.0
        await butter.pages.get("*", SLUG)
        butter.cache.clock = later(5)
        emu.state.latency = 5.0
        await butter.pages.get("*", SLUG)  # stale, with a slow refresh behind it
        assert butter.stats.cache.refreshes == 1
    await asyncio.wait_for(butter.cache.wait_for_refreshes(), 1.0)
