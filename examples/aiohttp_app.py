"""An aiohttp.web app that shares one ButterClient and invalidates its cache from webhooks.

Run it: `python examples/aiohttp_app.py` (serves the embedded emulator's content on
http://127.0.0.1:8080/pages/recipe/recipe-000001), or import `create_app` with your tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from butter_async import ButterClient, NotFoundError
from butter_async.webhooks import PageEvent, WebhookEvent, aiohttp_handler

CLIENT = web.AppKey("butter", ButterClient)
CACHE = web.AppKey("page_cache", dict)


def create_app(
    read_token: str, *, base_url: str | None = None, webhook_secret: str | None = None
) -> web.Application:
    """The app: GET /pages/{page_type}/{slug} (cached), POST /hooks/butter (webhooks)."""
    app = web.Application()
    app[CACHE] = {}

    async def butter_client(app: web.Application) -> AsyncIterator[None]:
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        async with ButterClient(read_token, **options) as butter:  # one client, one session
            app[CLIENT] = butter
            yield

    async def show_page(request: web.Request) -> web.Response:
        key = f"{request.match_info['page_type']}/{request.match_info['slug']}"
        cache: dict[str, Any] = request.app[CACHE]
        if key not in cache:
            try:
                page = await request.app[CLIENT].pages.get(
                    request.match_info["page_type"], request.match_info["slug"]
                )
            except NotFoundError:
                raise web.HTTPNotFound(text="no such page") from None
            cache[key] = {"slug": page.slug, "name": page.name, "fields": page.fields}
        return web.json_response(cache[key])

    async def on_event(event: WebhookEvent) -> None:
        if isinstance(event.data, PageEvent) and event.action in ("published", "delete"):
            page_type = event.data.page_type or "*"
            app[CACHE].pop(f"{page_type}/{event.data.slug}", None)

    app.cleanup_ctx.append(butter_client)
    app.router.add_get("/pages/{page_type}/{slug}", show_page)
    app.router.add_post("/hooks/butter", aiohttp_handler(on_event, secret=webhook_secret))
    return app


if __name__ == "__main__":
    from butter_async.testing import SeedSpec, emulator_in_thread

    with emulator_in_thread(seed=SeedSpec(pages=10)) as emu:
        web.run_app(create_app(emu.read_token, base_url=emu.url), host="127.0.0.1", port=8080)
