"""The emulator's webhook sender: a target that never answers is recorded as timed out,
and a target answering a huge body costs no memory."""

from __future__ import annotations

import asyncio
import resource
import time

from aiohttp import web
from aiohttp.test_utils import TestServer

from butter_async.testing import Emulator, SeedSpec
from butter_async.testing.webhook_sender import DELIVERY_TIMEOUT, WebhookSender

from .conftest import recipe_fields


def test_the_delivery_timeout_is_what_buttercms_waits() -> None:
    assert DELIVERY_TIMEOUT == 5.0 and WebhookSender().timeout == 5.0


async def hook_server(handler: web.RequestHandler) -> TestServer:  # type: ignore[type-arg]
    app = web.Application()
    app.router.add_post("/hook", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_a_target_that_never_answers_is_recorded_as_timed_out() -> None:
    release = asyncio.Event()

    async def silent(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    server = await hook_server(silent)
    try:
        async with Emulator(seed=SeedSpec(pages=1)) as emu:
            emu.state.webhooks.timeout = 0.3
            emu.add_webhook(str(server.make_url("/hook")))
            async with emu.client() as butter:
                await butter.pages.create("recipe", "hooked", "Hooked", recipe_fields())
            started = time.monotonic()
            await emu.drain_webhooks()
            assert time.monotonic() - started < 1.0
            (delivery,) = emu.webhook_deliveries
            assert delivery.status is None and delivery.error == "TimeoutError"
            assert delivery.event == "page.draft"  # created without a status: a draft
    finally:
        release.set()
        await server.close()


async def test_a_huge_answer_is_not_read() -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_length = 300 * 2**20
        await response.prepare(request)
        chunk = b"x" * 2**20
        try:
            for _ in range(300):
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the emulator hung up after the status: what we want
        return response

    server = await hook_server(huge)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        async with Emulator(seed=SeedSpec(pages=1)) as emu:
            emu.add_webhook(str(server.make_url("/hook")))
            async with emu.client() as butter:
                await butter.pages.create("recipe", "hooked", "Hooked", recipe_fields())
            await emu.drain_webhooks()
            (delivery,) = emu.webhook_deliveries
            assert delivery.status == 200 and delivery.error is None
    finally:
        await server.close()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 64  # reading the body would have grown it by 300 MB
