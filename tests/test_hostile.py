"""Hostile servers on 127.0.0.1: no token in anything raised or logged, only ButterErrors,
and close or cancel never leave a job hanging or a task behind."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from butter_async import (
    ButterClient,
    ButterError,
    ClientClosedError,
    ConfigurationError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    TransportError,
)
from butter_async.operations import CreatePost

READ = "read+tok/en=ABCDEFGHIJKLMNOP0123"
WRITE = "write+tok/en=QRSTUVWXYZ456789abc"
FAST = RetryPolicy(max_retries=1, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)


def token_pieces() -> list[str]:
    """Each token raw and percent-encoded, and every 12-character piece of them."""
    pieces = []
    for token in (READ, WRITE):
        for form in {token, quote(token, safe=""), quote_plus(token)}:
            pieces.extend(form[i : i + 12] for i in range(len(form) - 11))
    return pieces


def assert_no_token(*texts: str) -> None:
    for text in texts:
        leaked = [piece for piece in token_pieces() if piece in text]
        assert not leaked, f"token piece {leaked[0]!r} in {text[:300]!r}"


def everything_about(error: BaseException) -> str:
    """str, repr and the whole formatted traceback, chains included."""
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error, chain=True))]
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start an aiohttp.web server answering every path with `handler`; yields its API URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/v2/"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest_asyncio.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes], Awaitable[str]]]:
    """A TCP server answering every request with the same raw bytes (any HTTP violation)."""
    servers: list[asyncio.Server] = []

    async def start(answer: bytes) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v2/"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def client(url: str, **options: object) -> ButterClient:
    return ButterClient(READ, WRITE, base_url=url, retry=FAST, timeout=5, **options)  # type: ignore[arg-type]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def tasks_now() -> set[asyncio.Task[object]]:
    """The client side's tasks: the hostile server's own handlers are not counted."""
    return {
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
        and not task.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
    }


# -- tokens never leak ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\n{}",  # bad status line
        b"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\n{}",  # invalid header
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"da',  # cut short
    ],
)
async def test_aiohttp_errors_are_scrubbed_and_not_chained(
    raw_server: Callable[[bytes], Awaitable[str]], answer: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    url = await raw_server(answer)
    caplog.set_level(logging.DEBUG)
    async with client(url) as butter:
        with pytest.raises(ButterError) as caught:
            await butter.posts.get("x")
    error = caught.value
    assert isinstance(error, TransportError | ResponseValidationError) or "HTTP" in str(error)
    assert error.__cause__ is None and error.__context__ is None
    assert_no_token(everything_about(error), caplog.text)
    logger = logging.getLogger("user-app")
    try:
        raise error
    except ButterError:
        logger.exception("a user's app logs the failure")
    assert_no_token(caplog.text)


async def test_an_echoed_url_in_a_field_is_scrubbed(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def echo(request: web.Request) -> web.Response:
        post = {"slug": "x", "created": str(request.url), "title": "t"}
        return web.json_response({"data": post, "meta": {}})

    async with client(await serve(echo)) as butter:
        with pytest.raises(ResponseValidationError) as caught:
            await butter.posts.get("x")
    assert "auth_token=REDACTED" in str(caught.value) or "REDACTED" in str(caught.value)
    assert_no_token(everything_about(caught.value))


async def test_a_long_error_body_is_scrubbed_before_it_is_cut(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def bad_request(request: web.Request) -> web.Response:
        # The token straddles the 200th character, where the detail is cut.
        text = "x" * (190 - len('{"field":["')) + READ + "y" * 100
        return web.json_response({"field": [text]}, status=400)

    async with client(await serve(bad_request)) as butter:
        with pytest.raises(ButterError) as caught:
            await butter.posts.get("x")
    assert_no_token(everything_about(caught.value))


async def test_a_percent_encoded_token_in_an_html_page_is_scrubbed(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def html(request: web.Request) -> web.Response:
        page = f"<html><body>Bad URL: {request.path_qs} ({quote_plus(READ)})</body></html>"
        return web.Response(text=page, status=500, content_type="text/html")

    async with client(await serve(html)) as butter:
        with pytest.raises(ButterError) as caught:
            await butter.posts.get("x")
    assert_no_token(everything_about(caught.value))


async def test_header_auth_keeps_the_read_token_out_of_urls(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    seen: list[tuple[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.query_string, request.headers.get("Authorization", "")))
        return web.json_response({"data": [], "meta": {"count": 0}})

    async with client(await serve(record), read_auth="header") as butter:
        await butter.authors.list()
    assert seen == [("", f"Token {READ}")]


# -- only ButterErrors escape ---------------------------------------------------------------


@pytest.mark.parametrize("meta", [[1, 2], "meta", 7])
async def test_post_meta_of_the_wrong_type(
    serve: Callable[[Handler], Awaitable[str]], meta: object
) -> None:
    async def answer(request: web.Request) -> web.Response:
        post = {"slug": "x", "title": "t", "created": None, "published": None, "updated": None}
        return web.json_response({"data": post, "meta": meta})

    async with client(await serve(answer)) as butter:
        with pytest.raises(ResponseValidationError, match="meta"):
            await butter.posts.get("x")


@pytest.mark.parametrize(
    "location", ["http://[::1", "http://127.0.0.1:99999/v2/", "file:///etc/passwd", "javascript:x"]
)
async def test_a_hostile_location_is_a_transport_error(
    serve: Callable[[Handler], Awaitable[str]], location: str
) -> None:
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": location})

    async with client(await serve(redirect)) as butter:
        with pytest.raises(TransportError) as caught:
            await butter.posts.get("x")
    assert_no_token(everything_about(caught.value))


async def test_an_absurd_retry_after_is_treated_as_absent(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    absurd = "Wed, 21 Oct 2015 07:28:00 +99999999999999999999"
    calls = 0

    async def limited(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if request.method == "GET" and calls == 1:
            return web.json_response(
                {"detail": "API Calls limit reached."}, status=429, headers={"Retry-After": absurd}
            )
        if request.path.startswith("/v2/posts/a"):
            return web.json_response({"detail": "Not found."}, status=404)
        if request.method == "POST":
            return web.json_response(
                {"detail": "slow"}, status=429, headers={"Retry-After": absurd}
            )
        return web.json_response({"data": [], "meta": {"count": 0}})

    async with client(await serve(limited)) as butter:
        assert await butter.authors.list() == []
        report = await butter.bulk_run([CreatePost("a", "A")], max_rate_limit_wait=None)
    assert report.counts["failed"] == 1, report
    assert isinstance(report.failures[0].error, RateLimitError)


@pytest.mark.parametrize("token", ["abc\r\nX-Evil: 1", "abc def", "abc\x00", "", "tab\t"])
def test_unusable_tokens_are_refused_at_construction(token: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ButterClient("fine-read-token", token)
    assert token.strip() == "" or token not in str(caught.value)
    with pytest.raises(ConfigurationError):
        ButterClient(token)


@pytest.mark.parametrize("data", [None, "absent", {"a": 1}, "text"])
async def test_a_list_without_its_data_is_an_error_not_an_empty_stream(
    serve: Callable[[Handler], Awaitable[str]], data: object
) -> None:
    async def answer(request: web.Request) -> web.Response:
        body: dict[str, object] = {"meta": {"count": 250, "next_page": 2, "previous_page": None}}
        if data != "absent":
            body["data"] = data
        return web.json_response(body)

    async with client(await serve(answer)) as butter:
        with pytest.raises(ResponseValidationError, match="data"):
            await butter.posts.list().collect()


# -- close and cancel -----------------------------------------------------------------------


async def test_close_wins_over_requests_waiting_for_a_connection(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"data": [], "meta": {"count": 0}})

    url = await serve(slow)
    before, fds = tasks_now(), open_fds()
    butter = client(url, connector_limit=4)
    requests = [asyncio.ensure_future(butter.authors.list()) for _ in range(50)]
    await asyncio.sleep(0.05)  # the first four are sent, 46 wait for a pooled connection
    started = time.monotonic()
    await butter.close()
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    release.set()
    assert time.monotonic() - started < 1.0
    assert all(isinstance(outcome, ClientClosedError) for outcome in outcomes), outcomes[:3]
    assert not any(task.cancelled() for task in requests)
    await asyncio.sleep(0.05)
    assert tasks_now() <= before
    assert open_fds() <= fds


async def test_close_under_pool_pressure_lets_bulk_run_return(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def slow(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response({"data": [], "meta": {"count": 0}})
        await asyncio.sleep(10)
        return web.json_response({"status": "pending"}, status=202)

    before = tasks_now()
    butter = client(await serve(slow), connector_limit=4)
    await butter.authors.list()  # the session, with its pool of 4, exists before the job
    job = asyncio.ensure_future(
        butter.bulk_run((CreatePost(f"p-{i}", "P") for i in range(100)), concurrency=16)
    )
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await butter.close()
    report = await asyncio.wait_for(job, 5)
    assert time.monotonic() - started < 1.0
    assert report.total == 100
    assert report.counts["interrupted"] + report.counts["not_attempted"] == 100
    await asyncio.sleep(0)
    assert tasks_now() <= before


async def test_cancel_during_a_429_pause_leaves_nothing_running(
    serve: Callable[[Handler], Awaitable[str]], tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"detail": "API Calls limit reached."}, status=429, headers={"Retry-After": "1"}
        )

    before = tasks_now()
    async with client(await serve(limited)) as butter:
        ops = (CreatePost(f"p-{i}", "P") for i in range(40))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(butter.bulk_run(ops, concurrency=10), 0.3)
        assert tasks_now() <= before
    assert "Lock is not acquired" not in caplog.text


async def test_an_endless_429_is_bounded_by_the_job_budget(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    sent = 0

    async def limited(request: web.Request) -> web.Response:
        nonlocal sent
        sent += 1
        return web.json_response(
            {"detail": "API Calls limit reached."}, status=429, headers={"Retry-After": "1"}
        )

    async with client(await serve(limited)) as butter:
        started = time.monotonic()
        report = await butter.bulk_run(
            (CreatePost(f"p-{i}", "P") for i in range(200)),
            concurrency=8,
            max_rate_limit_wait=1.5,
        )
        took = time.monotonic() - started
    assert report.total == 200 and report.counts["failed"] == 200
    assert all(isinstance(r.error, RateLimitError) for r in report.failures)
    budget_failures = [r for r in report.failures if "max_rate_limit_wait" in (r.detail or "")]
    assert len(budget_failures) >= 150  # all but those already in flight
    assert took < 8 and sent < 60


async def test_cancelling_a_bulk_job_twice_still_waits_for_its_workers(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"detail": "API Calls limit reached."}, status=429, headers={"Retry-After": "1"}
        )

    before = tasks_now()
    async with client(await serve(limited)) as butter:
        job = asyncio.ensure_future(
            butter.bulk_run((CreatePost(f"p-{i}", "P") for i in range(40)), concurrency=10)
        )
        await asyncio.sleep(0.2)
        job.cancel()  # as asyncio.run does at shutdown: once...
        await asyncio.sleep(0)
        job.cancel()  # ...and again
        with pytest.raises(asyncio.CancelledError):
            await job
        assert tasks_now() <= before


async def test_close_wins_on_a_session_the_caller_owns(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({"status": "pending"}, status=202)

    url = await serve(slow)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:
        butter = ButterClient(READ, WRITE, base_url=url, session=session, retry=FAST)
        reads = [asyncio.ensure_future(butter.authors.list()) for _ in range(20)]
        job = asyncio.ensure_future(
            butter.bulk_run((CreatePost(f"p-{i}", "P") for i in range(50)), concurrency=8)
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await butter.close()
        outcomes = await asyncio.gather(*reads, return_exceptions=True)
        report = await asyncio.wait_for(job, 5)
        assert time.monotonic() - started < 1.0
        assert all(isinstance(outcome, ClientClosedError) for outcome in outcomes)
        assert report.counts["interrupted"] + report.counts["not_attempted"] == 50
        assert report.connection_limit == 4  # the caller's pool capped concurrency 8
        assert not session.closed  # the caller's session is the caller's to close
