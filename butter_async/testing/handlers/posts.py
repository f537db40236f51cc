"""The emulator's blog endpoints: posts (read and write), authors, categories, tags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..state import state_of
from ..store import JSON, NOT_FOUND, ContentStore, StoreError
from ..wire import (
    accepted,
    check_locale,
    flag,
    json_body,
    json_response,
    no_content,
    paginate_request,
)


def _list_post_json(data: JSON, *, exclude_body: bool) -> JSON:
    """A post as list responses show it: without `deleted`, and without `body` if asked."""
    dropped = ("deleted", "body") if exclude_body else ("deleted",)
    return {k: v for k, v in data.items() if k not in dropped}


async def list_posts(request: web.Request) -> web.Response:
    store = state_of(request).store
    locale = check_locale(request)
    filters = {
        key: request.query[key]
        for key in ("author_slug", "category_slug", "tag_slug")
        if request.query.get(key)
    }
    records = store.visible_posts(preview=flag(request, "preview"), filters=filters)
    listing = paginate_request(records, request)
    exclude_body = flag(request, "exclude_body")
    data = [
        _list_post_json(store.post_json(record, locale), exclude_body=exclude_body)
        for record in listing.items
    ]
    return json_response({"meta": listing.meta, "data": data})


async def search_posts(request: web.Request) -> web.Response:
    store = state_of(request).store
    locale = check_locale(request)
    query = request.query.get("query", "")
    records = store.search_posts(query, preview=flag(request, "preview"), locale=locale)
    listing = paginate_request(records, request)
    data = [
        {**store.post_json(r, locale), "rank": store.search_rank(r, query, locale)}
        for r in listing.items
    ]
    return json_response({"meta": listing.meta, "data": data})


async def get_post(request: web.Request) -> web.Response:
    store = state_of(request).store
    locale = check_locale(request)
    record = store.get_post(request.match_info["slug"])
    next_post, previous_post = store.post_neighbours(
        record.data["slug"], preview=flag(request, "preview"), locale=locale
    )
    meta = {"next_post": next_post, "previous_post": previous_post}
    return json_response({"meta": meta, "data": store.post_json(record, locale)})


async def create_post(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    record = store.validate_post_create(await json_body(request))
    slug = record.data["slug"]
    key = ("post", slug)
    if key in state.pending:
        raise StoreError(400, {"slug": [f"A post with slug {slug!r} already exists."]})
    state.apply_later(lambda: [store.add_post(record)], key)
    return accepted()


async def update_post(request: web.Request) -> web.Response:
    state = state_of(request)
    mutation, warnings = state.store.post_update(
        request.match_info["slug"], await json_body(request)
    )
    state.apply_later(mutation, None)
    return accepted(warnings)


async def delete_post(request: web.Request) -> web.Response:
    state = state_of(request)
    state.webhooks.send([state.store.delete_post(request.match_info["slug"])])
    return no_content()


def blog_terms(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    field = {"authors": "author", "categories": "category", "tags": "tag"}[kind]

    def render(store: ContentStore, term: JSON, with_posts: bool) -> JSON:
        if not with_posts:
            return term
        return {**term, "recent_posts": store.recent_posts(field, term["slug"])}

    async def handler(request: web.Request) -> web.Response:
        store = state_of(request).store
        terms: dict[str, JSON] = getattr(store, kind)
        with_posts = request.query.get("include") == "recent_posts"
        slug = request.match_info.get("slug")
        if slug is None:
            return json_response({"data": [render(store, t, with_posts) for t in terms.values()]})
        term = terms.get(slug)
        if term is None:
            raise StoreError(404, NOT_FOUND)
        return json_response({"data": render(store, term, with_posts)})

    return handler
