"""Tracing hooks, per-client stats and log lines: what a team plugs into its monitoring."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import aiohttp
import pytest

from butter_async.testing import Emulator, Fault, SeedSpec


async def test_trace_configs_stats_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="butter_async")
    started: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        started.append(params.url.path)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with Emulator(seed=SeedSpec(posts=30)) as emu:
        emu.faults.add(Fault("status", path="posts/", nth=2, status=503))
        async with emu.client(trace_configs=[trace]) as butter:
            await butter.posts.list(page_size=10).collect()
            await butter.tags.list()
    assert started == ["/v2/posts/"] * 5 + ["/v2/tags/"]
    stats = butter.stats
    assert (stats.requests, stats.retries) == (6, 1)
    assert stats.by_status == {200: 5, 503: 1}
    assert stats.bytes_received > 10_000
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("GET http://127.0.0.1") and "-> 503" in line for line in lines)
    assert any(
        "retrying GET" in line and r.levelno == logging.WARNING
        for line, r in zip(lines, caplog.records, strict=True)
    )
