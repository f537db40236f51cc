"""Each emulator knob, and how the SDK's retries and errors behave against it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
import pytest_asyncio

from butter_async import (
    AuthenticationError,
    ButterClient,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from butter_async.testing import Emulator, Fault, SeedSpec, SlidingWindow, jittered
from butter_async.testing.command import parse_args
from butter_async.transport import CLIENT_HEADER

FAST = RetryPolicy(max_retries=3, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)
NEW_POST = {"title": "Fresh", "slug": "fresh", "status": "published"}


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=SeedSpec(posts=99)) as e:
        yield e


@pytest_asyncio.fixture
async def butter(emu: Emulator) -> AsyncIterator[ButterClient]:
    async with emu.client(retry=FAST, timeout=5) as client:
        yield client


async def all_slugs(butter: ButterClient) -> list[str]:
    return [post.slug async for post in butter.posts.list(page_size=10, prefetch=4)]


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", path="posts/", nth=3, status=503),
        Fault("status", path="posts/", nth=2, status=429, retry_after="0"),
        Fault("status", path="posts/", nth=2, status=429),
        Fault("html", path="posts/", nth=4, status=502),
        Fault("status", path="posts/", every=3, status=504, times=3),
        Fault("truncate", path="posts/", nth=2),
        Fault("reset_before", path="posts/", nth=5),
        Fault("reset_after", path="posts/", nth=6),
    ],
    ids=lambda fault: f"{fault.kind}-{fault.status}",
)
async def test_stream_recovers_from_transient_faults(
    emu: Emulator, butter: ButterClient, fault: Fault
) -> None:
    expected = await all_slugs(butter)
    emu.state.reset_counters()
    emu.faults.add(fault)
    assert await all_slugs(butter) == expected
    assert fault.fired >= 1
    assert butter.stats.retries >= fault.fired


async def test_failure_on_page_k_raises_after_the_items_before_it(
    emu: Emulator, butter: ButterClient
) -> None:
    fault = emu.faults.add(Fault("status", path="posts/", params={"page": "3"}, status=503))
    got: list[str] = []
    with pytest.raises(ServerError) as caught:
        async for post in butter.posts.list(page_size=10, prefetch=4):
            got.append(post.slug)
    assert caught.value.status == 503
    assert len(got) == 20
    assert fault.fired == 1 + FAST.max_retries


async def test_write_reset_after_apply_is_not_retried_and_was_applied(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.faults.add(Fault("reset_after", path="posts/", methods=("POST",), nth=1))
    with pytest.raises(TransportError):
        await butter.transport.request(
            "POST", ["posts"], content=orjson.dumps(NEW_POST), auth="write"
        )
    assert "fresh" in emu.store.posts
    posts_created = [r for r in emu.requests if r.method == "POST"]
    assert len(posts_created) == 1


async def test_write_refused_with_503_is_retried_once_applied(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.faults.add(Fault("status", path="posts/", methods=("POST",), nth=1, status=503))
    result, _body = await butter.transport.request(
        "POST", ["posts"], content=orjson.dumps(NEW_POST), auth="write"
    )
    assert result == {"status": "pending"}
    assert [r.status for r in emu.requests if r.method == "POST"] == [503, 202]


async def test_slow_response_past_the_timeout(emu: Emulator) -> None:
    emu.faults.add(Fault("hang_after", path="posts/", methods=("POST",), seconds=2.0))
    emu.faults.add(Fault("delay", path="posts/", methods=("GET",), nth=1, seconds=2.0))
    async with emu.client(retry=FAST, timeout=0.1) as butter:
        with pytest.raises(RequestTimeoutError):
            await butter.transport.request(
                "POST", ["posts"], content=orjson.dumps(NEW_POST), auth="write"
            )
        assert "fresh" in emu.store.posts  # applied although the client timed out
        assert (await butter.posts.list().first()) is not None  # read retried after its timeout
        assert butter.stats.retries == 1


async def test_redirect_to_the_same_origin_is_followed(emu: Emulator, butter: ButterClient) -> None:
    emu.faults.add(
        Fault("redirect", path="posts/", nth=1, location=emu.url + "posts/?page=1&page_size=100")
    )
    assert len(await butter.posts.list().collect()) == 100
    assert [r.status for r in emu.requests][:2] == [301, 200]


async def test_redirect_to_another_origin_drops_credentials(emu: Emulator) -> None:
    async with Emulator() as other:
        emu.faults.add(Fault("redirect", path="posts/", nth=1, location=other.url + "posts/"))
        async with emu.client(retry=FAST) as butter:
            with pytest.raises(AuthenticationError, match="credentials were not provided"):
                await butter.posts.list().first()
            emu.faults.add(
                Fault("redirect", path="posts/", methods=("POST",), location=other.url + "posts/")
            )
            with pytest.raises(AuthenticationError, match="credentials were not provided"):
                await butter.transport.request(
                    "POST", ["posts"], content=orjson.dumps(NEW_POST), auth="write"
                )
        assert [(r.method, r.status) for r in other.requests] == [("GET", 401), ("POST", 401)]
        assert all("auth_token" not in r.query and not r.auth_header for r in other.requests)


async def test_rate_limit_is_ridden_out(emu: Emulator) -> None:
    emu.state.fractional_retry_after = True
    emu.state.set_rate_limit(200)
    assert emu.state.limiter is not None
    emu.state.limiter.burst = 2
    async with emu.client(retry=RetryPolicy(max_retries=50, retry_after_cap=5)) as butter:
        slugs = [p.slug async for p in butter.posts.list(page_size=5, prefetch=8)]
    assert len(slugs) == 100 and len(set(slugs)) == 100
    assert emu.state.status_counts[429] > 0
    assert butter.stats.retries == emu.state.status_counts[429]


async def test_monthly_quota_raises_instead_of_sleeping(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.state.quota = emu.state.calls + 1
    await butter.posts.list(page_size=100).first()
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await butter.authors.list()
    assert time.monotonic() - started < 1
    assert caught.value.detail == "API Calls limit reached."
    assert caught.value.retry_after is not None and caught.value.retry_after > 86400


async def test_latency_is_added_to_each_answer(emu: Emulator, butter: ButterClient) -> None:
    emu.state.latency = 0.05
    started = time.monotonic()
    await butter.authors.list()
    assert time.monotonic() - started >= 0.05


async def test_probability_faults_are_deterministic_by_seed() -> None:
    fired = []
    for _ in range(2):
        async with Emulator(seed=SeedSpec(posts=300), fault_seed=7) as emu:
            fault = emu.faults.add(Fault("status", path="posts/", probability=0.3, status=503))
            async with emu.client(retry=RetryPolicy(max_retries=10, backoff_base=0)) as butter:
                assert len(await butter.posts.list(page_size=10, prefetch=1).collect()) == 301
            fired.append(fault.fired)
    assert fired[0] == fired[1] > 0


async def test_request_log_and_counters(emu: Emulator, butter: ButterClient) -> None:
    await butter.posts.list(page_size=50).collect()
    await butter.tags.list()
    assert emu.state.endpoint_counts["GET posts"] == 2
    assert emu.state.endpoint_counts["GET tags"] == 1
    assert emu.state.status_counts[200] == 3
    assert all(record.client_header == CLIENT_HEADER for record in emu.requests)
    assert all(emu.read_token in record.query for record in emu.requests)


async def test_a_callers_session_sends_the_client_headers_too(emu: Emulator) -> None:
    # Our own session carries the constant headers; a caller's session does not.
    async with aiohttp.ClientSession() as session, emu.client(session=session) as butter:
        await butter.tags.list()
    assert [record.client_header for record in emu.requests] == [CLIENT_HEADER]


def test_sliding_window_accepts_its_rate_in_any_second_and_no_more() -> None:
    now = [0.0]
    window = SlidingWindow(3, clock=lambda: now[0])
    assert [window.take() for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]
    now[0] = 0.999
    assert window.take() == 1.0  # the first three are still inside the window
    now[0] = 1.0
    assert [window.take() for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


async def test_sliding_window_answers_429_with_retry_after_1() -> None:
    emu = Emulator(rate_limit=2, rate_limit_kind="window")
    async with emu, emu.client(retry=RetryPolicy(max_retries=0)) as butter:
        await butter.authors.list()
        await butter.authors.list()
        with pytest.raises(RateLimitError) as caught:
            await butter.authors.list()
    assert caught.value.retry_after == 1


def test_jittered_latency_spreads_around_its_centre_and_is_seeded() -> None:
    draw = jittered(0.05, 0.04, seed=3)
    assert callable(draw)
    values = [draw() for _ in range(1000)]
    assert 0.01 <= min(values) < 0.02 and 0.08 < max(values) <= 0.09
    again = jittered(0.05, 0.04, seed=3)
    assert callable(again) and [again() for _ in range(5)] == values[:5]
    assert jittered(0.05, 0) == 0.05


def test_command_line_takes_jitter_and_the_window_kind() -> None:
    args = parse_args(["--latency", "0.05", "--jitter", "0.04", "--rate-limit-kind", "window"])
    assert (args.jitter, args.rate_limit_kind) == (0.04, "window")
