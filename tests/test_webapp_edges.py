"""The web-app mode under hostile or unlucky conditions: keys, deletes, deadlines,
cancellations, poisoned entries, and a webhook route an outsider can reach."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from butter_async import (
    ButterClient,
    CacheBackendError,
    ConfigurationError,
    MemoryCache,
    NotFoundError,
    RedisCache,
    RequestTimeoutError,
    RetryPolicy,
)
from butter_async.cache import CacheBackend
from butter_async.errors import WebhookError
from butter_async.testing import Emulator, Fault, SeedSpec
from butter_async.webhooks import (
    DEFAULT_SECRET_HEADER,
    MAX_SLUG_LENGTH,
    aiohttp_handler,
    parse_event,
)

SECRET = "edge-secret-81c0"
HEADERS = {DEFAULT_SECRET_HEADER: SECRET}
SLUG = "simple-page"
NO_RETRIES = RetryPolicy(max_retries=0)
DOCS = Path(__file__).parent.parent / "docs"


def later(by: float) -> Callable[[], float]:
    return lambda: time.time() + by


def gets(emu: Emulator, path_end: str) -> int:
    return sum(1 for r in emu.requests if r.method == "GET" and r.path.endswith(path_end))


def page_event(slug: str, event: str = "page.published") -> dict[str, object]:
    return {"data": {"id": slug, "page_type": "*"}, "webhook": {"event": event}}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(latency=0.01, seed=SeedSpec(pages=3)) as emulator:
        yield emulator


# -- 1. keys ---------------------------------------------------------------------------


async def test_a_crafted_filter_value_never_shares_another_reads_entry(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    crafted = {"headline": "thai&fields.servings=2"}
    plain = {"headline": "thai", "servings": "2"}
    async with emu.client(cache=backend()) as butter:
        await butter.pages.list("recipe", fields=crafted).collect()
        await butter.pages.list("recipe", fields=plain).collect()
        assert gets(emu, "pages/recipe/") == 2  # two reads, two entries
        await butter.pages.list("recipe", fields=plain).collect()
        assert gets(emu, "pages/recipe/") == 2  # and each is a hit for itself only
    sent = [dict(parse_qsl(r.query)) for r in emu.requests if r.path == "pages/recipe/"]
    assert sent[0]["fields.headline"] == "thai&fields.servings=2"
    assert sent[1]["fields.headline"] == "thai" and sent[1]["fields.servings"] == "2"


async def test_a_crafted_filter_value_never_joins_another_read_in_flight(emu: Emulator) -> None:
    async with emu.client() as butter:
        await asyncio.gather(
            butter.pages.list("recipe", fields={"headline": "a&fields.servings=2"}).collect(),
            butter.pages.list("recipe", fields={"headline": "a", "servings": "2"}).collect(),
        )
        assert butter.stats.cache.coalesced == 0
        assert gets(emu, "pages/recipe/") == 2


async def test_one_token_against_two_api_roots_shares_no_entry(redis_url: str) -> None:
    prefix = f"roots-{time.monotonic_ns()}:"
    async with (
        Emulator(read_token="same-token-0123456789") as first,
        Emulator(read_token="same-token-0123456789") as second,
    ):
        second.store.page(SLUG).fields[None]["headline"] = "from the second"
        for emu in (first, second):
            async with emu.client(cache=RedisCache(url=redis_url, prefix=prefix)) as butter:
                await butter.pages.get("*", SLUG)
        assert gets(first, f"/{SLUG}/") == 1 and gets(second, f"/{SLUG}/") == 1
        async with second.client(cache=RedisCache(url=redis_url, prefix=prefix)) as butter:
            page = await butter.pages.get("*", SLUG)
            assert page.fields["headline"] == "from the second"


# -- 2. a deleted page ends its entry ------------------------------------------------------


@pytest.mark.parametrize("status", [404, 401, 403])
async def test_a_refresh_answering_gone_or_forbidden_ends_the_entry(
    emu: Emulator, backend: Callable[..., CacheBackend], status: int
) -> None:
    async with emu.client(cache=backend(ttl=60), retry=NO_RETRIES) as butter:
        await butter.pages.get("*", SLUG)
        emu.faults.add(Fault("status", path=f"pages/*/{SLUG}/", status=status))
        butter.cache.clock = later(100)  # stale, within stale-while-revalidate
        assert (await butter.pages.get("*", SLUG)).slug == SLUG  # served while it refreshes
        await butter.cache.wait_for_refreshes()
        with pytest.raises(Exception) as raised:
            await butter.pages.get("*", SLUG)
        assert getattr(raised.value, "status", None) == status
        assert butter.stats.cache.dropped >= 1


async def test_a_deleted_page_is_gone_after_one_refresh_without_a_webhook(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with (
        emu.client(cache=backend(ttl=60), retry=NO_RETRIES) as reader,
        emu.client() as editor,
    ):
        await reader.pages.get("*", SLUG)
        await editor.pages.delete(SLUG)
        reader.cache.clock = later(100)
        await reader.pages.get("*", SLUG)  # the stale copy, once, while it is read again
        await reader.cache.wait_for_refreshes()
        with pytest.raises(NotFoundError):
            await reader.pages.get("*", SLUG)


async def test_a_server_error_still_serves_the_stale_copy(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend(ttl=60), retry=NO_RETRIES) as butter:
        await butter.pages.get("*", SLUG)
        emu.faults.add(Fault("status", path=f"pages/*/{SLUG}/", status=503))
        butter.cache.clock = later(100)
        await butter.pages.get("*", SLUG)
        await butter.cache.wait_for_refreshes()
        assert (await butter.pages.get("*", SLUG)).slug == SLUG
        assert butter.stats.cache.dropped == 0


# -- 3. a joiner's own deadline ------------------------------------------------------------


async def test_a_caller_with_a_shorter_deadline_keeps_it(emu: Emulator) -> None:
    emu.faults.add(Fault("delay", path=f"pages/*/{SLUG}/", seconds=3.0))
    async with emu.client() as butter:
        slow = asyncio.ensure_future(butter.pages.get("*", SLUG))
        await asyncio.sleep(0.05)  # the slow read is in flight
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            await butter.with_options(timeout=0.5, max_retries=0).pages.get("*", SLUG)
        assert time.monotonic() - started < 1.5
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)


async def test_callers_with_the_same_options_still_share_one_request(emu: Emulator) -> None:
    async with emu.client() as butter:
        quick = butter.with_options(timeout=5)
        await asyncio.gather(*(quick.pages.get("*", SLUG) for _ in range(20)))
        assert gets(emu, f"/{SLUG}/") == 1


# -- 4. a cancelled caller never cancels another -------------------------------------------


@pytest.mark.parametrize("cached", [False, True])
async def test_a_newcomer_never_gets_the_cancellation_of_the_caller_before_it(
    emu: Emulator, cached: bool
) -> None:
    async with emu.client(cache=MemoryCache() if cached else None) as butter:
        for _ in range(20):
            only = asyncio.ensure_future(butter.pages.get("*", SLUG, locale="fr"))
            await asyncio.sleep(0)  # its request is under way
            only.cancel()
            newcomer = asyncio.ensure_future(butter.pages.get("*", SLUG, locale="fr"))
            assert (await newcomer).slug == SLUG
            assert only.cancelled()
            if cached:
                await butter.cache.clear()


# -- 5. a bad entry in Redis ---------------------------------------------------------------


@pytest.mark.parametrize("damage", ["cut short", "not JSON", "another read's body"])
async def test_a_bad_entry_in_redis_is_a_miss_and_is_replaced(
    emu: Emulator, redis_url: str, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = f"poison-{time.monotonic_ns()}:"
    async with emu.client(cache=RedisCache(url=redis_url, prefix=prefix)) as butter:
        await butter.pages.get("*", SLUG)
        await butter.posts.get("example-post")
    redis = Redis.from_url(redis_url)
    try:
        (page_key,) = [k async for k in redis.scan_iter(f"{prefix}*:r:*{SLUG}*")]
        (post_key,) = [k async for k in redis.scan_iter(f"{prefix}*:r:*example-post*")]
        good = await redis.get(page_key)
        assert good is not None
        header, _, body = good.partition(b"}\n")
        poisoned = {
            "cut short": good[: len(good) - len(body) // 2],
            "not JSON": header + b"}\n<html>oops</html>",
            "another read's body": await redis.get(post_key),
        }[damage]
        await redis.set(page_key, poisoned)
        cache = RedisCache(url=redis_url, prefix=prefix, local_copies=False)
        with caplog.at_level(logging.WARNING, logger="butter_async.cache"):
            async with emu.client(cache=cache) as butter:
                for _ in range(3):  # the view is served, and from the second on, a hit
                    assert (await butter.pages.get("*", SLUG)).slug == SLUG
                assert butter.stats.cache.bad_entries == 1
                assert butter.stats.cache.hits == 2
        assert sum("does not decode" in r.getMessage() for r in caplog.records) == 1
        assert await redis.get(page_key) != poisoned
    finally:
        await redis.aclose()


# -- 6, 7, 8. the webhook route ------------------------------------------------------------


@asynccontextmanager
async def hook_route(butter: ButterClient, **options: object) -> AsyncIterator[tuple[str, int]]:
    """A real aiohttp server with the invalidation route; yields its host and port."""
    app = web.Application()
    app.router.add_post("/hooks", aiohttp_handler(invalidate=butter, **options))  # type: ignore[arg-type]
    async with TestServer(app, host="127.0.0.1") as server:
        assert server.port is not None
        yield "127.0.0.1", server.port


async def raw_post(host: str, port: int, head: bytes, *pieces: bytes) -> tuple[int, bytes]:
    """POST over a raw socket, each piece written (and flushed) on its own."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head)
        await writer.drain()
        for piece in pieces:
            await asyncio.sleep(0.02)  # so the server reads each piece separately
            writer.write(piece)
            await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def request_head(length: int | None, extra: str = "") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /hooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"{DEFAULT_SECRET_HEADER}: {SECRET}\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n{extra}\r\n"
    ).encode()


def chunked(*pieces: bytes) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces] + [b"0\r\n\r\n"]


async def test_a_webhook_body_in_several_segments_is_read_whole(emu: Emulator) -> None:
    body = orjson.dumps(page_event(SLUG))
    thirds = [body[:10], body[10:30], body[30:]]
    async with emu.client(cache=MemoryCache()) as butter, hook_route(butter, secret=SECRET) as at:
        status, _ = await raw_post(*at, request_head(len(body)), *thirds)
        assert status == 200
        status, _ = await raw_post(*at, request_head(None), *chunked(*thirds))
        assert status == 200
        assert butter.stats.cache.invalidations >= 1


async def test_a_large_webhook_body_in_one_write_is_accepted(emu: Emulator) -> None:
    event = page_event(SLUG)
    event["data"]["notes"] = "x" * 300_000  # type: ignore[index]
    body = orjson.dumps(event)
    async with emu.client(cache=MemoryCache()) as butter, hook_route(butter, secret=SECRET) as at:
        for _ in range(5):
            status, _ = await raw_post(*at, request_head(len(body)) + body)
            assert status == 200


async def test_a_chunked_body_past_the_limit_is_413(emu: Emulator) -> None:
    pieces = [b"{" + b" " * 3000] * 3
    async with emu.client() as butter, hook_route(butter, secret=SECRET, max_body=4096) as at:
        status, answer = await raw_post(*at, request_head(None), *chunked(*pieces))
    assert status == 413 and b"4096" in answer


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({DEFAULT_SECRET_HEADER: "sécret"}, page_event(SLUG), 401),
        ({}, page_event(SLUG), 401),
        (HEADERS, {"data": {"id": "products", "itemid": "/v2/x/?_id=" + "9" * 5000},
                   "webhook": {"event": "collectionitem.published"}}, 400),
        (HEADERS, {"data": {"id": "p", "_id": "9" * 5000}, "webhook": {"event": "post.draft"}},
         400),
        (HEADERS, page_event("s" * (MAX_SLUG_LENGTH + 1)), 400),
        (HEADERS, {"data": [], "webhook": {}}, 400),
    ],
)  # fmt: skip
async def test_hostile_webhook_input_is_a_4xx_and_logs_no_traceback(
    emu: Emulator,
    headers: dict[str, str],
    body: object,
    expected: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with emu.client(cache=MemoryCache()) as butter, hook_route(butter, secret=SECRET) as at:
        raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("utf-8")
        payload = orjson.dumps(body)
        head = (
            b"POST /hooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + raw
            + b"Content-Length: %d\r\n\r\n" % len(payload)
        )  # fmt: skip
        status, _ = await raw_post(*at, head + payload)
        assert status == expected
        assert butter.stats.cache.invalidations == 0
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"id": "p", "_id": ' + b"9" * 5000 + b'}, "webhook": {"event": "post.draft"}}',
        '{"data": {"id": "\udcff"}, "webhook": {"event": "page.draft"}}',
        b"[" * 100_000,
        b'{"data": {"id": "x"}, "webhook": {"event": ' + b"1" * 5000 + b"}}",
    ],
)
def test_parse_event_raises_only_webhook_errors(body: bytes | str) -> None:
    with pytest.raises(WebhookError) as raised:
        parse_event(body, HEADERS, secret=SECRET)
    assert raised.value.status == 400


def test_a_route_without_a_secret_must_say_so() -> None:
    async def on_event(_event: object) -> None:
        pass

    with pytest.raises(ConfigurationError, match="secret="):
        aiohttp_handler(on_event)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="allow_unauthenticated"):
        parse_event(orjson.dumps(page_event(SLUG)), {})
    assert parse_event(page_event(SLUG), allow_unauthenticated=True).kind == "page"
    aiohttp_handler(on_event, allow_unauthenticated=True)  # type: ignore[arg-type]


async def test_an_anonymous_post_is_401_and_costs_no_api_call(emu: Emulator) -> None:
    async with emu.client(cache=MemoryCache()) as butter, hook_route(butter, secret=SECRET) as at:
        await butter.pages.get("*", SLUG)
        async with aiohttp.ClientSession() as http:
            for _ in range(20):  # what a hostile page makes visitors' browsers send
                async with http.post(
                    f"http://{at[0]}:{at[1]}/hooks",
                    data=orjson.dumps(page_event(SLUG)),
                    headers={"Content-Type": "text/plain"},
                ) as answer:
                    assert answer.status == 401
                await butter.pages.get("*", SLUG)
        assert gets(emu, f"/{SLUG}/") == 1


async def test_a_burst_of_identical_events_costs_one_renewal_and_loses_no_edit(
    emu: Emulator, backend: Callable[..., CacheBackend]
) -> None:
    async with emu.client(cache=backend()) as butter, hook_route(butter, secret=SECRET) as at:
        await butter.pages.get("*", SLUG)
        async with aiohttp.ClientSession(headers=HEADERS) as http:
            for n in range(20):
                async with http.post(
                    f"http://{at[0]}:{at[1]}/hooks", json=page_event(SLUG)
                ) as answer:
                    assert answer.status == 200
                if n == 10:  # an editor's change lands in the middle of the burst
                    emu.store.page(SLUG).fields[None]["headline"] = "edited mid-burst"
                await butter.pages.get("*", SLUG)
        assert butter.stats.cache.invalidations == 1  # one renewal so far, 19 folded
        assert butter.stats.cache.invalidations_folded == 19
        await butter.cache.wait_for_invalidations()
        assert butter.stats.cache.invalidations == 2  # and one at the window's end
        page = await butter.pages.get("*", SLUG)
        assert page.fields["headline"] == "edited mid-burst"
        assert gets(emu, f"/{SLUG}/") <= 3


# -- 9. invalidations cannot grow Redis without bound ------------------------------------


async def test_tag_tokens_in_redis_expire_with_the_entries(emu: Emulator, redis_url: str) -> None:
    prefix = f"ttl-{time.monotonic_ns()}:"
    cache = RedisCache(url=redis_url, prefix=prefix, ttl=10, stale_while_revalidate=20,
                       stale_if_error=30)  # fmt: skip
    async with emu.client(cache=cache) as butter:
        for n in range(5):
            event = parse_event(page_event(f"slug-{n}"), allow_unauthenticated=True)
            await butter.cache.invalidate(event)
        redis = Redis.from_url(redis_url)
        try:
            token_keys = [k async for k in redis.scan_iter(f"{prefix}*:t:*")]
            assert len(token_keys) >= 5
            for key in token_keys:
                ttl_ms = await redis.pttl(key)
                assert 0 < ttl_ms <= 40_000  # ttl + the longest stale window
        finally:
            await redis.aclose()


# -- 10. the FastAPI example ---------------------------------------------------------------


def fastapi_example() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / "webapp.md").read_text(), re.S | re.M)
    (example,) = [block for block in blocks if "from fastapi import" in block]
    return str(example)


async def test_the_fastapi_example_answers_503_when_redis_is_down_and_401_without_it() -> None:
    import httpx
    from fastapi import FastAPI

    code = fastapi_example().replace("redis://localhost:6379/0", "redis://127.0.0.1:9/0")
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/webapp.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, FastAPI)
    secret = re.search(r'secret="([^"]+)"', code)
    assert secret is not None
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as http,
    ):
        event = page_event(SLUG)
        assert (await http.post("/hooks/buttercms", json=event)).status_code == 401
        answer = await http.post(
            "/hooks/buttercms", json=event, headers={DEFAULT_SECRET_HEADER: secret.group(1)}
        )
        assert answer.status_code == 503
        assert "could not invalidate" in answer.json()["detail"]
    assert CacheBackendError.__name__ in (DOCS / "errors.md").read_text()
