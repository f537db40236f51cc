"""BulkWriter through its client Protocol: a fake client drives it, no HTTP involved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from yarl import URL

from butter_async import BadRequestError, RateLimitError, RetryPolicy
from butter_async.bulk import BulkClient, BulkWriter
from butter_async.bulk.pacing import AcceptanceMeter, AdaptiveGate
from butter_async.errors import InvalidOperationError
from butter_async.operations import CreateItem, CreatePost
from butter_async.testing.faults import TokenBucket
from butter_async.transport import ClientStats, OnRateLimit
from butter_async.writes import WriteCall, WriteResult


class FakePosts:
    """Creates posts in a dict; the first create of `limited` slugs answers 429 once."""

    def __init__(self, client: FakeClient, limited: set[str]) -> None:
        self.client = client
        self.created: dict[str, dict[str, Any]] = {}
        self.limited = set(limited)
        self.release = asyncio.Event()
        self.release.set()
        self.refuse: set[str] = set()

    async def create(self, call: WriteCall) -> WriteResult:
        await self.release.wait()
        assert call.method == "POST" and call.segments == ("posts",) and call.body is not None
        slug, title = call.key, call.body["title"]
        if slug in self.limited:
            self.limited.discard(slug)
            for callback in list(self.client.listeners):
                callback(0.0)
            raise RateLimitError(status=429, detail="slow down", method="POST", url="fake")
        if slug in self.refuse:
            raise BadRequestError(status=400, detail="refused", method="POST", url="fake")
        self.created[slug] = {"title": title, **call.body}
        return WriteResult("post", slug, "created", 1)


class FakeClient:
    """Implements BulkClient without any network."""

    def __init__(self, limited: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.listeners: list[Callable[[float | None], None]] = []
        self.posts = FakePosts(self, limited)
        self.stats = ClientStats()
        self.retry = RetryPolicy(max_retries=0)
        self.closed = False
        self.base_url = URL("https://fake.example/v2/")
        self.account_fingerprint = "fake-account"

    def send(
        self,
        call: WriteCall,
        *,
        check_first: bool = False,
        on_rate_limit: OnRateLimit = "wait",
    ) -> Coroutine[Any, Any, WriteResult]:
        # the writer paces and resends refused writes itself
        assert on_rate_limit == "raise"
        return self.posts.create(call)

    def require_write_token(self) -> None:
        pass

    def reserve_connections(self, wanted: int) -> int:
        return wanted

    def on_rate_limited(self, callback: Callable[[float | None], None]) -> Callable[[], None]:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)


def posts(n: int, prefix: str = "p") -> list[CreatePost]:
    return [CreatePost(f"{prefix}-{i}", f"Post {i}") for i in range(n)]


async def test_a_fake_client_drives_the_writer() -> None:
    client = FakeClient(limited={"p-3"})
    fake: BulkClient = client
    report = await BulkWriter(fake, concurrency=4).run(posts(20))
    assert report.ok and report.counts["created"] == 20
    assert sorted(client.posts.created) == sorted(f"p-{i}" for i in range(20))
    assert report.rate_limited == 1  # seen through on_rate_limited
    assert client.listeners == []  # unsubscribed when the job ended


async def test_two_concurrent_runs_keep_their_own_reports() -> None:
    writer = BulkWriter(FakeClient(), concurrency=3)
    first, second = await asyncio.gather(
        writer.run(posts(7, "a"), keep_results=True), writer.run(posts(11, "b"), keep_results=True)
    )
    assert (first.total, second.total) == (7, 11)
    assert {r.key for r in first.results or []} == {f"post:a-{i}" for i in range(7)}
    assert {r.key for r in second.results or []} == {f"post:b-{i}" for i in range(11)}


async def test_leaving_the_writer_closes_a_stream_left_open() -> None:
    client = FakeClient()
    async with BulkWriter(client, concurrency=2) as writer:
        results = writer.stream(posts(50))
        first = await anext(results)
        assert first.ok
        client.posts.release.clear()  # the rest wait: they are in flight when we leave
    report = writer.report
    assert report.total == 50 and report.counts["created"] >= 1
    assert (
        report.counts["created"] + report.counts["interrupted"] + report.counts["not_attempted"]
        == 50
    )
    assert client.listeners == []


async def test_by_default_a_run_keeps_counts_and_failures_not_every_result() -> None:
    client = FakeClient()
    client.posts.refuse = {"p-3"}
    report = await BulkWriter(client, concurrency=4).run(posts(20))
    assert report.results is None  # flat memory however long the input
    assert report.total == 20 and report.counts["created"] == 19
    assert [failure.key for failure in report.failures] == ["post:p-3"]


async def test_a_retry_after_of_zero_neither_pauses_nor_slows_the_gate() -> None:
    gate = AdaptiveGate()
    gate.rate_limited(0.0)  # "retry at once", as a flaky proxy may say
    assert gate.paused == 0.0 and gate.pace is None
    assert await gate.acquire()
    gate.rate_limited(None)  # no Retry-After at all: a one-second pause
    assert gate.paused == pytest.approx(1.0, abs=0.05)


async def test_the_gate_admits_at_once_only_when_no_pause_or_pace_holds_sends() -> None:
    gate = AdaptiveGate()
    assert gate.admit() and gate.in_flight == 1  # nothing to wait for
    gate.release(succeeded=True)
    gate.rate_limited(0.05)  # paused: every send waits in acquire(), none slips past
    assert not gate.admit() and gate.in_flight == 0
    assert await gate.acquire()  # after the pause, which is where a pace would be learned
    gate.release(succeeded=True)
    assert gate.pace is None and gate.admit()  # one success is no rate: open again
    gate.release(succeeded=True)
    paced = await gate_paced_at_100()
    assert not paced.admit() and paced.in_flight == 0  # each send waits for its turn


async def gate_paced_at_100() -> AdaptiveGate:
    """A gate that has learned (up to) 100 sends a second from a 10 ms token wait."""
    gate = AdaptiveGate()
    for _ in range(5):
        assert await gate.acquire()
        gate.release(succeeded=True)
    gate.rate_limited(0.01)  # a token's wait: paused 10 ms, the pace learned at its end
    assert await gate.acquire()
    gate.release(succeeded=True)
    assert gate.pace is not None and 50 <= gate.pace <= 100  # 100 unless the host stalled
    return gate


async def paced_sends(
    gate: AdaptiveGate, count: int, answer: Callable[[int], float | None]
) -> list[float]:
    """When each of `count` sends queued at once went; `answer(n)` is the 429 wait the
    nth send met, or None when it was accepted."""
    loop = asyncio.get_running_loop()
    went: list[float] = []

    async def send() -> None:
        assert await gate.acquire()
        went.append(loop.time())
        retry_after = answer(len(went) - 1)
        gate.release(succeeded=retry_after is None)
        if retry_after is not None:
            gate.rate_limited(retry_after)

    await asyncio.gather(*(send() for _ in range(count)))
    return went


@pytest.mark.parametrize("pause", [0.2, 2.5])  # a token's wait; a pause past two windows
async def test_a_pause_while_paced_holds_the_turns_already_taken(pause: float) -> None:
    gate = await gate_paced_at_100()
    # Ten sends take their turns at once; the second is refused, naming the pause.
    went = await paced_sends(gate, 10, lambda n: pause if n == 1 else None)
    refused_at = went[1]
    for later, sent_at in enumerate(went[2:]):  # none in the pause, then one per turn
        assert sent_at >= refused_at + pause + later * 0.01 - 0.001


async def test_a_pace_learned_too_high_respaces_the_turns_already_taken() -> None:
    gate = await gate_paced_at_100()
    bucket = TokenBucket(rate=20, burst=1)  # the server's true rate: a fifth of the pace
    went = await paced_sends(gate, 40, lambda _: bucket.take() or None)
    assert gate.pace is not None and 15 <= gate.pace <= 25
    assert went[-1] - went[-10] >= 9 * 0.8 / gate.pace  # queued turns moved to the new pace


class ClockedGate:
    """A gate on a clock the test moves, with each send accepted at a time it names."""

    def __init__(self) -> None:
        self.now = 0.0
        self.gate = AdaptiveGate(clock=lambda: self.now)

    async def send_at(self, when: float) -> None:
        self.now = when
        assert await self.gate.acquire()
        self.gate.release(succeeded=True)

    async def send_every(self, start: float, stop: float, rate: float) -> None:
        """Sends `rate` a second after `start` up to `stop`: slower than the pace, so
        none waits for its turn on a clock that only the test moves."""
        sent = 1
        while (when := start + sent / rate) <= stop:
            await self.send_at(when)
            sent += 1

    async def learn_100_a_second(self) -> None:
        """The job's first window: 100 accepted in the first half second, then refused
        once it has run a whole window (so what the server counted is all the job's)."""
        for tick in range(100):
            await self.send_at(tick * 0.005)
        self.now = 1.0
        self.gate.rate_limited(1.0)  # refused: everyone waits the window out
        assert self.gate.paused == pytest.approx(1.0, abs=0.01)
        await self.send_at(2.0)  # the pause is over: the pace is what the window accepted
        assert self.gate.pace == pytest.approx(100)


async def test_a_sliding_windows_429s_step_the_pace_down_once_a_window() -> None:
    clocked = ClockedGate()
    gate = clocked.gate
    await clocked.learn_100_a_second()
    clocked.now = 2.1
    gate.rate_limited(1.0)  # refused while paced: one small step down
    assert gate.pace == pytest.approx(99)
    clocked.now = 2.6
    gate.rate_limited(1.0)  # the window still counts sends made at the pace before
    assert gate.pace == pytest.approx(99)
    await clocked.send_every(2.6, 3.2, 95)  # a window since the step, the 429 0.6 s old
    assert gate.pace == pytest.approx(99)
    await clocked.send_every(3.2, 3.7, 95)  # a whole window at the pace without a 429
    assert gate.pace == pytest.approx(99.99)  # probe 1% higher
    clocked.now = 3.8
    gate.rate_limited(1.0)  # the probe is refused: back down at once
    assert gate.pace == pytest.approx(98.9901)
    assert gate.paused == pytest.approx(1.0, abs=0.01)  # never paused again while paced


async def test_a_job_sending_slower_than_its_pace_does_not_raise_it() -> None:
    # A slow source for a minute: windows without a 429, but at half the pace. Raised
    # through them (1% a window), the pace would end 80% above the limit, and the job
    # would overrun the limit that much once its source sped up again.
    clocked = ClockedGate()
    gate = clocked.gate
    await clocked.learn_100_a_second()
    await clocked.send_every(2.0, 62.0, 50)
    assert gate.pace == pytest.approx(100)
    # Keeping to the pace again (95 a second against 100), the probing resumes.
    await clocked.send_every(62.0, 64.5, 95)
    assert gate.pace is not None and 101 <= gate.pace <= 102.1


def test_a_saturated_servers_rate_is_read_from_the_spacing_of_what_it_accepts() -> None:
    meter = AcceptanceMeter()
    for tick in range(6):  # accepts one every 0.1 s and refuses the three sent between
        now = 0.1 * tick
        meter.count(now, 1.0, accepted=True)
        for _ in range(3):
            meter.count(now + 0.01, 1.0, accepted=False)
    assert meter.saturated_rate() == pytest.approx(10.0)
    meter.restart()
    assert meter.saturated_rate() is None  # a pause is no evidence


def test_a_server_refusing_little_or_accepting_few_gives_no_rate() -> None:
    light = AcceptanceMeter()
    for tick in range(20):  # one refusal among twenty acceptances: the pace is near
        light.count(0.05 * tick, 1.0, accepted=True)
    light.count(1.0, 1.0, accepted=False)
    assert light.saturated_rate() is None
    few = AcceptanceMeter()
    for tick in range(4):  # four acceptances are too few to read a rate from
        few.count(0.1 * tick, 1.0, accepted=True)
        few.count(0.1 * tick + 0.01, 1.0, accepted=False)
    assert few.saturated_rate() is None


@pytest.mark.parametrize(
    ("fields", "locale"),
    [
        ({"sku": "A-1", "name": "Apple"}, None),
        ({"en": {"sku": "A-1"}, "fr": {"sku": "A-1"}}, None),  # locale-keyed: the first locale
        ({"sku": "A-1"}, "en"),
    ],
)
def test_an_item_matched_on_a_field_must_have_it_flat_or_in_its_first_locale(
    fields: dict[str, Any], locale: str | None
) -> None:
    CreateItem("products", fields, locale=locale, match_on="sku").validate()
    without = {
        key: {k: v for k, v in value.items() if k != "sku"} if isinstance(value, dict) else value
        for key, value in fields.items()
        if key != "sku"
    }
    with pytest.raises(InvalidOperationError, match="sku: is required to match"):
        CreateItem("products", without or {"name": "x"}, locale=locale, match_on="sku").validate()


async def test_a_pause_holds_turns_that_came_while_the_loop_was_held() -> None:
    # A busy host holds the event loop 50 ms just before a send that is refused: the
    # turns after it come meanwhile but are not taken. The pause must hold them too (it
    # let them go up to 40 ms before its end: seen once in CI).
    gate = await gate_paced_at_100()

    def answer(n: int) -> float | None:
        if n == 0:
            time.sleep(0.05)  # the loop held: the next turns come and are not taken
        return 0.5 if n == 1 else None

    went = await paced_sends(gate, 10, answer)
    refused_at = went[1]
    for later, sent_at in enumerate(went[2:]):
        assert sent_at >= refused_at + 0.5 + later * 0.01 - 0.001
