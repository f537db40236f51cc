"""An aiohttp.web app that shares one cached ButterClient, invalidated by ButterCMS webhooks.

Run it: `python examples/aiohttp_app.py` (serves the embedded emulator's content on
http://127.0.0.1:8080/pages/recipe/recipe-000001), or import `create_app` with your tokens
and the webhook secret you configured in the dashboard (Settings > Webhooks > Headers,
`X-Butter-Webhook-Secret`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from butter_async import ButterClient, MemoryCache, NotFoundError
from butter_async.webhooks import aiohttp_handler

CLIENT = web.AppKey("butter", ButterClient)


def create_app(
    read_token: str, *, webhook_secret: str, base_url: str | None = None
) -> web.Application:
    """The app: GET /pages/{page_type}/{slug} through the client's cache, POST
    /hooks/butter (ButterCMS webhooks, checked against `webhook_secret`)."""
    app = web.Application()

    async def butter_client(app: web.Application) -> AsyncIterator[None]:
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        # one client per worker: one session, one cache; entries fresh for a minute
        cache = MemoryCache(ttl=60)
        async with ButterClient(read_token, cache=cache, **options) as butter:
            app[CLIENT] = butter
            yield

    async def show_page(request: web.Request) -> web.Response:
        try:
            page = await request.app[CLIENT].pages.get(
                request.match_info["page_type"], request.match_info["slug"]
            )
        except NotFoundError:
            raise web.HTTPNotFound(text="no such page") from None
        return web.json_response({"slug": page.slug, "name": page.name, "fields": page.fields})

    async def webhook(request: web.Request) -> web.Response:
        # makes stale what the event changed, in this worker's cache
        handler = aiohttp_handler(invalidate=request.app[CLIENT], secret=webhook_secret)
        return await handler(request)

    app.cleanup_ctx.append(butter_client)
    app.router.add_get("/pages/{page_type}/{slug}", show_page)
    app.router.add_post("/hooks/butter", webhook)
    return app


if __name__ == "__main__":
    from butter_async.testing import SeedSpec, emulator_in_thread

    with emulator_in_thread(seed=SeedSpec(pages=10)) as emu:
        app = create_app(emu.read_token, base_url=emu.url, webhook_secret="example-secret")
        web.run_app(app, host="127.0.0.1", port=8080)
