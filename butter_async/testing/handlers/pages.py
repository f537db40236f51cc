"""The emulator's pages endpoints: list, get, search, create, update, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..state import state_of
from ..store import StoreError
from ..wire import (
    accepted,
    check_levels,
    check_locale,
    field_params,
    flag,
    json_body,
    json_response,
    no_content,
    paginate_request,
)


async def list_pages(request: web.Request) -> web.Response:
    store = state_of(request).store
    check_levels(request)
    locale = check_locale(request)
    records = store.visible_pages(
        request.match_info["page_type"],
        preview=flag(request, "preview"),
        locale=locale,
        filters=field_params(request),
        order=request.query.get("order"),
    )
    return _page_listing(request, records, locale)


def _page_listing(request: web.Request, records: list[Any], locale: str | None) -> web.Response:
    store = state_of(request).store
    listing = paginate_request(records, request)
    alt, levels = flag(request, "alt_media_text"), check_levels(request)
    data = [
        store.page_json(record, locale, alt_media_text=alt, levels=levels)
        for record in listing.items
    ]
    return json_response({"meta": listing.meta, "data": data})


async def get_page(request: web.Request) -> web.Response:
    store = state_of(request).store
    levels = check_levels(request)
    locale = check_locale(request)
    record = store.get_page(
        request.match_info["page_type"],
        request.match_info["slug"],
        preview=flag(request, "preview"),
    )
    alt = flag(request, "alt_media_text")
    page = store.page_json(record, locale, alt_media_text=alt, levels=levels)
    return json_response({"data": page})


async def search_pages(request: web.Request) -> web.Response:
    store = state_of(request).store
    check_levels(request)
    locale = check_locale(request)
    records = store.search_pages(
        request.query.get("query", ""),
        page_type=request.query.get("page_type") or None,
        preview=flag(request, "preview"),
        locale=locale,
    )
    return _page_listing(request, records, locale)


async def create_page(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    record = store.validate_page_create(await json_body(request), request.query.get("locale"))
    key = ("page", f"{record.page_type}/{record.slug}")
    if key in state.pending:
        raise StoreError(400, {"slug": [f"A page with slug {record.slug!r} already exists."]})
    state.apply_later(lambda: [store.add_page(record)], key)
    return accepted()


async def update_page(request: web.Request) -> web.Response:
    state = state_of(request)
    mutation = state.store.page_update(
        request.match_info["page_type"],
        request.match_info["slug"],
        await json_body(request),
        request.query.get("locale"),
    )
    state.apply_later(mutation, None)
    return accepted()


async def delete_page(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    record = store.get_page(
        request.match_info["page_type"], request.match_info["slug"], preview=True
    )
    state.webhooks.send([store.delete_page(record)])
    return no_content()
