"""Several writers on one account share one pace through a real Redis server."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import orjson
import pytest

from butter_async import RetryPolicy
from butter_async.bulk import BulkProgress, BulkReport, RedisPace
from butter_async.testing import Emulator, RedisServer, SeedSpec

from .conftest import recipe_fields
from .test_bulk import bulk_pages, creates, sends_seen_by

RETRY = RetryPolicy(max_retries=30, retry_after_cap=5)


async def write_together(
    emu: Emulator, pace: RedisPace | None, writers: int, each: int
) -> list[BulkReport]:
    """`writers` clients, as if in as many processes, each writing its own `each` pages."""

    async def one(k: int) -> BulkReport:
        async with emu.client(retry=RETRY) as butter:
            # A pause counts once however many sends wait it out, and a paced turn's wait
            # is no pause (about 6 s of turns here): the budget holds.
            return await butter.bulk_run(
                creates(each, start=k * each),
                concurrency=20,
                shared_pace=pace,
                max_rate_limit_wait=4,
            )

    return list(await asyncio.gather(*(one(k) for k in range(writers))))


async def test_writers_sharing_a_pace_send_together_at_the_limit_and_lose_nothing(
    redis_url: str,
) -> None:
    emu = Emulator(seed=SeedSpec(pages=1), rate_limit=100, rate_limit_kind="window")
    pace = RedisPace(url=redis_url, prefix=f"test-{time.monotonic_ns()}:")
    async with emu:
        sends = sends_seen_by(emu)
        reports = await write_together(emu, pace, writers=3, each=200)
    assert all(report.ok for report in reports)
    assert sorted(bulk_pages(emu)) == [f"bulk-{i:05d}" for i in range(600)]  # each once
    refused = sum(report.rate_limited for report in reports)
    # Three writers pacing alone refuse far more: each learns a third of the window from
    # its own acceptances and raises it alone. One schedule keeps them under it together.
    alone_emu = Emulator(seed=SeedSpec(pages=1), rate_limit=100, rate_limit_kind="window")
    async with alone_emu:
        alone = await write_together(alone_emu, None, writers=3, each=200)
    refused_alone = sum(report.rate_limited for report in alone)
    assert refused < refused_alone, (refused, refused_alone)
    # After the first window the server sees them send at its limit, not over it.
    first = sends[0][0]
    settled = [accepted for when, accepted in sends if when >= first + 3.0]
    assert settled.count(False) <= 0.05 * len(settled), (settled.count(False), len(settled))


async def test_the_shared_state_is_keyed_by_account_and_api_root_never_a_token(
    redis_url: str,
) -> None:
    from redis.asyncio import Redis

    emu = Emulator(seed=SeedSpec(pages=1), rate_limit=100, rate_limit_kind="window")
    prefix = f"test-key-{time.monotonic_ns()}:"
    pace = RedisPace(url=redis_url, prefix=prefix)
    async with emu:
        await write_together(emu, pace, writers=2, each=150)
        async with emu.client() as butter:
            expected = pace.key(butter.account_fingerprint, str(butter.base_url))
    redis = Redis.from_url(redis_url)
    try:
        keys = sorted(key.decode() for key in await redis.keys(prefix + "*"))
        state = {k.decode(): v.decode() for k, v in (await redis.hgetall(expected)).items()}
        members = await redis.zrange(expected + ":accepted", 0, -1)
        ttl = await redis.pttl(expected)
    finally:
        await redis.aclose()
    assert keys == [expected, expected + ":accepted"]
    assert 80 <= float(state["pace"]) <= 120  # the window's 100 a second, learned once
    assert 0 < ttl <= 600_000  # idle state expires
    stored = " ".join([*keys, *state.values(), *(m.decode() for m in members)])
    for token in (emu.read_token, emu.write_token):
        assert token not in stored


async def test_a_redis_that_dies_mid_job_leaves_each_writer_pacing_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = Emulator(seed=SeedSpec(pages=1), rate_limit=100, rate_limit_kind="window")
    server = RedisServer()
    url = server.__enter__()
    pace = RedisPace(url=url, socket_timeout=0.3)
    stopped = False
    try:
        async with emu:

            async def kill_redis_soon() -> None:
                nonlocal stopped
                await asyncio.sleep(2.5)  # the pace is learned and shared by then
                server.__exit__(None, None, None)
                stopped = True

            killer = asyncio.ensure_future(kill_redis_soon())
            with caplog.at_level(logging.WARNING, logger="butter_async"):
                reports = await write_together(emu, pace, writers=2, each=250)
            await killer
    finally:
        if not stopped:
            server.__exit__(None, None, None)
    assert all(report.ok for report in reports), reports
    assert sorted(bulk_pages(emu)) == [f"bulk-{i:05d}" for i in range(500)]
    fell_back = [r for r in caplog.records if "paces alone" in r.getMessage()]
    assert 1 <= len(fell_back) <= 2  # once a writer, never once a write


async def test_an_unreachable_redis_costs_no_write() -> None:
    emu = Emulator(seed=SeedSpec(pages=1), rate_limit=100, rate_limit_kind="window")
    pace = RedisPace(url="redis://127.0.0.1:1/0", socket_timeout=0.2)
    async with emu, emu.client(retry=RETRY) as butter:
        report = await butter.bulk_run(creates(150), concurrency=20, shared_pace=pace)
    assert report.ok and len(bulk_pages(emu)) == 150


def test_the_shared_pace_never_shows_a_redis_password() -> None:
    pace = RedisPace(url="redis://user:s3cret-pass@redis.example:6379/0")
    assert "s3cret-pass" not in repr(pace)
    assert "s3cret-pass" not in pace.key("account", "https://api.buttercms.com/v2/")


def test_imports_share_a_pace_from_the_command_line(tmp_path: Path, redis_url: str) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main
    from butter_async.cli.imports import resume_command
    from butter_async.testing import emulator_in_thread

    source = tmp_path / "pages.jsonl"
    source.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "page_type": "recipe",
                    "slug": f"cli-{i}",
                    "title": f"Cli {i}",
                    "fields": recipe_fields(),
                }
            )
            + b"\n"
            for i in range(40)
        )
    )
    with emulator_in_thread(seed=SeedSpec(pages=1)) as emu:
        env = {
            "BUTTER_READ_TOKEN": emu.read_token,
            "BUTTER_WRITE_TOKEN": emu.write_token,
            "BUTTER_BASE_URL": emu.url,
            "BUTTER_SHARED_PACE": redis_url,
        }
        result = CliRunner().invoke(main, ["import", "pages", str(source)], env=env)
        assert result.exit_code == 0, result.output
        assert sum(slug.startswith("cli-") for slug in emu.store.page_slugs()) == 40
    refused = CliRunner().invoke(
        main, ["import", "pages", str(source), "--shared-pace", "http://not-redis"], env=env
    )
    assert refused.exit_code == 2 and "--shared-pace" in refused.output
    # The printed resume command never shows a Redis URL (it may hold a password).
    argv = ["butter-async", "import", "pages", "x.jsonl", "--shared-pace", "redis://:pw@h/0"]
    assert "pw@" not in resume_command(argv)


def test_a_shared_pace_needs_the_adaptive_pace() -> None:
    from butter_async import ConfigurationError
    from butter_async.bulk import BulkSettings

    with pytest.raises(ConfigurationError, match="adaptive"):
        BulkSettings(adaptive=False, shared_pace=RedisPace(url="redis://127.0.0.1:6379/0"))


async def test_a_close_cut_short_by_a_cancellation_still_stops_its_task() -> None:
    # A Redis that accepts and never answers: the last update hangs while the job closes.
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read(1 << 20)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        pace = RedisPace(url=f"redis://127.0.0.1:{port}/0", socket_timeout=5.0)
        gate = pace.gate("account", "http://127.0.0.1/v2/", adaptive=True, accepted=lambda: 0)
        gate.rate_limited(1.0)  # an update on its way to Redis
        await asyncio.sleep(0.05)
        closing = asyncio.ensure_future(gate.close())
        await asyncio.sleep(0.05)  # close() is waiting for the update to be told
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        left = [t for t in asyncio.all_tasks() if "_send_updates" in repr(t.get_coro())]
        assert all(task.done() for task in left)
    finally:
        for connection in connections:
            connection.close()
        server.close()
        await server.wait_closed()


async def test_a_shared_job_cancelled_twice_leaves_no_task_of_its_own_running(
    redis_url: str,
) -> None:
    emu = Emulator(seed=SeedSpec(pages=1), rate_limit=100, rate_limit_kind="window")
    pace = RedisPace(url=redis_url, prefix=f"test-cancel-{time.monotonic_ns()}:")
    underway = asyncio.Event()

    def watch(snapshot: BulkProgress) -> None:
        if snapshot.done >= 50:
            underway.set()

    async with emu, emu.client(retry=RETRY) as butter:
        job = asyncio.ensure_future(
            butter.bulk_run(
                creates(400), concurrency=20, shared_pace=pace, progress=watch, progress_interval=0
            )
        )
        await underway.wait()
        job.cancel()
        await asyncio.sleep(0)
        job.cancel()  # again, while the job accounts for its inputs and closes
        with pytest.raises(asyncio.CancelledError):
            await job
        left = [
            task
            for task in asyncio.all_tasks()
            if not task.done() and "_send_updates" in repr(task.get_coro())
        ]
    assert left == []


async def test_senders_queued_for_a_connection_do_not_read_as_redis_failing(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A hundred sends ask Redis for a turn at once and queue for the pool's few
    # connections. While Redis is slow (here: DEBUG SLEEP 0.3 s, four times, each within
    # the 0.5 s socket timeout), the queue waits longer than the pool's own timeout: that
    # wait is in this process and must not read as Redis failing (it did, and the job
    # went on alone).
    import redis as redis_py

    async def slow_redis() -> None:
        client = redis_py.Redis.from_url(redis_url)
        await asyncio.sleep(0.1)
        for _ in range(4):  # back to back: a queued call waits through several
            await asyncio.to_thread(client.execute_command, "DEBUG", "SLEEP", "0.3")
        client.close()

    async with Emulator(seed=SeedSpec(pages=1), latency=0.03) as emu:
        with caplog.at_level(logging.WARNING, logger="butter_async"):
            async with emu.client(retry=RETRY) as butter:
                slowing = asyncio.create_task(slow_redis())
                report = await butter.bulk_run(
                    creates(3000, start=50_000),
                    concurrency=100,
                    shared_pace=RedisPace(url=redis_url),
                )
                await slowing
    assert report.ok and report.counts["created"] == 3000
    assert not [r for r in caplog.records if "paces alone" in r.getMessage()]
