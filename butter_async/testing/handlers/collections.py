"""The emulator's collections endpoints (`/content/`): read items, write items."""

from __future__ import annotations

from aiohttp import web

from ..state import state_of
from ..store import NOT_FOUND, StoreError
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


async def get_collections(request: web.Request) -> web.Response:
    store = state_of(request).store
    keys = [key for key in request.query.get("keys", "").split(",") if key]
    if not keys:
        return json_response({})
    for key in keys:
        if key not in store.collections:
            raise StoreError(404, {"detail": f"Content key {key} not found"})
    if len(keys) == 1:
        return await _collection_listing(request, keys[0])
    levels = check_levels(request)
    locale = check_locale(request)
    preview = flag(request, "preview")
    alt = flag(request, "alt_media_text")
    data = {
        key: [
            store.item_json(key, record, locale, alt_media_text=alt, levels=levels)
            for record in store.visible_items(
                key, preview=preview, locale=locale, filters={}, order=None
            )
        ]
        for key in keys
    }
    return json_response({"data": data})


async def list_collection(request: web.Request) -> web.Response:
    return await _collection_listing(request, request.match_info["key"])


async def _collection_listing(request: web.Request, key: str) -> web.Response:
    store = state_of(request).store
    levels = check_levels(request)
    locale = check_locale(request)
    records = store.visible_items(
        key,
        preview=flag(request, "preview"),
        locale=locale,
        filters=field_params(request),
        order=request.query.get("order"),
    )
    listing = paginate_request(records, request)
    alt = flag(request, "alt_media_text")
    data = {
        key: [
            store.item_json(key, r, locale, alt_media_text=alt, levels=levels)
            for r in listing.items
        ]
    }
    return json_response({"meta": listing.meta, "data": data})


def _item_id(request: web.Request) -> int:
    try:
        return int(request.match_info["item_id"])
    except ValueError:
        raise StoreError(404, NOT_FOUND) from None


async def get_collection_item(request: web.Request) -> web.Response:
    store = state_of(request).store
    levels = check_levels(request)
    locale = check_locale(request)
    key = request.match_info["key"]
    record = store.get_item(key, _item_id(request), preview=flag(request, "preview"))
    alt = flag(request, "alt_media_text")
    return json_response(
        {"data": store.item_json(key, record, locale, alt_media_text=alt, levels=levels)}
    )


async def create_collection_item(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    body = await json_body(request)
    if "key" in request.match_info and isinstance(body, dict):
        body = {**body, "key": request.match_info["key"]}
    records = store.validate_item_create(body, request.query.get("locale"))
    key = body["key"]
    state.apply_later(lambda: store.add_items(key, records), None)
    return accepted()


async def update_collection_item(request: web.Request) -> web.Response:
    state = state_of(request)
    mutation = state.store.item_update(
        request.match_info["key"],
        _item_id(request),
        await json_body(request),
        request.query.get("locale"),
        replace=request.method == "PUT",
    )
    state.apply_later(mutation, None)
    return accepted()


async def delete_collection_item(request: web.Request) -> web.Response:
    state = state_of(request)
    change = state.store.delete_item(request.match_info["key"], _item_id(request))
    state.webhooks.send([change])
    return no_content()
