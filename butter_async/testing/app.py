"""The emulator's aiohttp.web application: the ButterCMS v2 read and write API."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from xml.sax.saxutils import escape

import attrs
import orjson
from aiohttp import web

from .faults import (
    Fault,
    FaultPlan,
    Latency,
    TokenBucket,
    retry_after_header,
    seconds_until_next_month,
)
from .store import (
    JSON,
    MAX_LEVELS,
    MIN_LEVELS,
    NOT_FOUND,
    Change,
    ContentStore,
    Listing,
    StoreError,
    paginate,
)
from .webhook_sender import WebhookSender, WebhookTarget

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_ROOT = "/v2/"
RATE_LIMITED: JSON = {"detail": "API Calls limit reached."}
NO_CREDENTIALS: JSON = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN: JSON = {"detail": "Invalid token."}
NO_PERMISSION: JSON = {"detail": "You do not have permission to perform this action."}
PENDING: JSON = {"status": "pending"}
HTML_ERROR_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head>"
    "<body><h1>{status}</h1><p>The upstream server did not answer.</p></body></html>"
)


@attrs.frozen
class RequestRecord:
    """One request the emulator served, for tests to inspect."""

    method: str
    path: str
    query: str
    status: int
    auth_header: bool
    user_agent: str
    client_header: str
    at: float


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response serialised with orjson."""
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def _field_params(request: web.Request) -> dict[str, str]:
    return {k[7:]: v for k, v in request.query.items() if k.startswith("fields.") and k[7:]}


def _check_levels(request: web.Request) -> None:
    """400 for a `levels` outside 1-5, as the API answers (pages and collections)."""
    raw = request.query.get("levels")
    if raw is None:
        return
    try:
        levels = int(raw)
    except ValueError:
        levels = 0
    if not MIN_LEVELS <= levels <= MAX_LEVELS:
        raise StoreError(
            400, {"levels": [f"levels must be between {MIN_LEVELS} and {MAX_LEVELS}."]}
        )


def _check_locale(request: web.Request) -> str | None:
    """The `locale` parameter, 400 if the account does not have it."""
    locale = request.query.get("locale")
    state_of(request).store.resolve_locale(locale)
    return locale


REQUEST_LOG_LIMIT = 200_000


class EmulatorState:
    """The mutable knobs and observations of a running emulator."""

    def __init__(
        self,
        store: ContentStore,
        *,
        read_token: str,
        write_token: str,
        latency: Latency = 0.0,
        write_latency: Latency | None = None,
        rate_limit: float | None = None,
        quota: int | None = None,
        processing_delay: float = 0.0,
        faults: FaultPlan | None = None,
        fractional_retry_after: bool = False,
        redirect_base: str | None = None,
        webhooks: list[WebhookTarget] | None = None,
    ) -> None:
        self.store = store
        self.read_token = read_token
        self.write_token = write_token
        self.latency = latency
        self.write_latency = write_latency
        self.limiter = TokenBucket(rate_limit) if rate_limit else None
        self.quota = quota
        self.processing_delay = processing_delay
        self.faults = faults or FaultPlan()
        self.fractional_retry_after = fractional_retry_after
        self.redirect_base = redirect_base
        self.requests: list[RequestRecord] = []
        self.request_log_limit = REQUEST_LOG_LIMIT
        self.status_counts: Counter[int] = Counter()
        self.endpoint_counts: Counter[str] = Counter()
        self.calls = 0
        self.pending: set[tuple[str, str]] = set()
        self.webhooks = WebhookSender(webhooks or ())
        self._scheduled: dict[asyncio.TimerHandle, Callable[[], None]] = {}

    def set_rate_limit(self, rate: float | None) -> None:
        """Change (or remove, with None) the requests-per-second limit."""
        self.limiter = TokenBucket(rate) if rate else None

    def reset_counters(self) -> None:
        """Forget the request log and counters."""
        self.requests.clear()
        self.status_counts.clear()
        self.endpoint_counts.clear()

    def delay_for(self, method: str) -> float:
        """The latency to inject before answering a request of `method`."""
        knob = self.latency if method == "GET" or self.write_latency is None else self.write_latency
        return knob() if callable(knob) else knob

    def apply_later(
        self, mutation: Callable[[], list[Change]], pending_key: tuple[str, str] | None
    ) -> None:
        """Apply an accepted write now, or after the processing delay (202 semantics).

        Its webhooks go out once it is applied, in the background.
        """

        def apply() -> None:
            try:
                self.webhooks.send(mutation())
            finally:
                if pending_key is not None:
                    self.pending.discard(pending_key)

        if self.processing_delay <= 0:
            apply()
            return
        if pending_key is not None:
            self.pending.add(pending_key)
        handle: asyncio.TimerHandle

        def run() -> None:
            self._scheduled.pop(handle, None)
            apply()

        handle = asyncio.get_running_loop().call_later(self.processing_delay, run)
        self._scheduled[handle] = apply

    def flush_pending(self) -> None:
        """Apply every write still waiting for its processing delay, now."""
        scheduled, self._scheduled = self._scheduled, {}
        for handle, apply in scheduled.items():
            handle.cancel()
            apply()


STATE_KEY = web.AppKey("butter_state", EmulatorState)


def state_of(request: web.Request) -> EmulatorState:
    """The emulator state behind a request."""
    return request.app[STATE_KEY]


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every request with its final status."""
    state = state_of(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        path = request.path.removeprefix(API_ROOT)
        state.calls += 1
        state.status_counts[status] += 1
        state.endpoint_counts[f"{request.method} {path.split('/')[0]}"] += 1
        state.requests.append(
            RequestRecord(
                method=request.method,
                path=path,
                query=request.query_string,
                status=status,
                auth_header="Authorization" in request.headers,
                user_agent=request.headers.get("User-Agent", ""),
                client_header=request.headers.get("X-Butter-Client", ""),
                at=time.monotonic(),
            )
        )
        if len(state.requests) > state.request_log_limit:
            del state.requests[: len(state.requests) // 2]  # a long-running server stays bounded


@web.middleware
async def realism(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, rate limit, monthly quota and planned faults."""
    state = state_of(request)
    delay = state.delay_for(request.method)
    if delay > 0:
        await asyncio.sleep(delay)
    if state.quota is not None and state.calls >= state.quota:
        # rate-limits-throttling: the spent monthly quota, Retry-After up to the reset.
        return json_response(RATE_LIMITED, 429, {"Retry-After": str(seconds_until_next_month())})
    if state.limiter is not None:  # a test knob: ButterCMS documents no per-second limit
        wait = state.limiter.take()
        if wait > 0:
            header = retry_after_header(wait, fractional=state.fractional_retry_after)
            return json_response(RATE_LIMITED, 429, {"Retry-After": header})
    fault = state.faults.pick(request.method, request.path.removeprefix(API_ROOT), request.query)
    if fault is None:
        return await handler(request)
    return await _inject(fault, request, handler, state)


async def _inject(
    fault: Fault, request: web.Request, handler: Handler, state: EmulatorState
) -> web.StreamResponse:
    kind = fault.kind
    if kind == "status":
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        body = fault.body or (
            RATE_LIMITED if fault.status == 429 else {"detail": "Injected fault."}
        )
        return json_response(body, fault.status, headers)
    if kind == "html":
        page = HTML_ERROR_PAGE.format(status=fault.status)
        return web.Response(text=page, status=fault.status, content_type="text/html")
    if kind == "redirect":
        target = fault.location or ((state.redirect_base or "").rstrip("/") + str(request.rel_url))
        raise web.HTTPMovedPermanently(location=target)
    if kind == "delay":
        await asyncio.sleep(fault.seconds)
        return await handler(request)
    if kind == "reset_before":
        return await _drop_connection(request)
    response = await handler(request)
    if kind == "reset_after":
        return await _drop_connection(request)
    if kind == "hang_after":
        await asyncio.sleep(fault.seconds)
        return response
    # truncate: promise the whole body, send half of it, drop the connection.
    payload = response.body if isinstance(response, web.Response) else None
    raw = payload if isinstance(payload, bytes) else b""
    partial = web.StreamResponse(status=response.status)
    partial.content_type = "application/json"
    partial.content_length = len(raw)
    await partial.prepare(request)
    await partial.write(raw[: len(raw) // 2])
    return await _drop_connection(request, partial)


async def _drop_connection(
    request: web.Request, response: web.StreamResponse | None = None
) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing reaches the client; the status is what the request log shows.
    return response or web.Response(status=499)


@web.middleware
async def trailing_slash(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 301 to the slashed URL for a path without its trailing slash, as the API does."""
    if request.path.startswith(API_ROOT) and not request.path.endswith("/"):
        slashed = request.rel_url.with_path(request.path + "/").with_query(request.rel_url.query)
        raise web.HTTPMovedPermanently(location=str(slashed))
    return await handler(request)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Reads take the read token (query or header); writes only the write token in the header."""
    state = state_of(request)
    header = request.headers.get("Authorization", "")
    header_token = header[6:].strip() if header.startswith("Token ") else None
    if request.method in ("GET", "HEAD"):
        token = request.query.get("auth_token") or header_token
        if not token:
            return json_response(NO_CREDENTIALS, 401)
        if token not in (state.read_token, state.write_token):
            return json_response(INVALID_TOKEN, 401)
        return await handler(request)
    if header_token is None:
        return json_response(NO_CREDENTIALS, 401)
    if header_token == state.read_token:
        return json_response(NO_PERMISSION, 403)
    if header_token != state.write_token:
        return json_response(INVALID_TOKEN, 401)
    return await handler(request)


@web.middleware
async def store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render the store's refusals as the API's JSON error answers."""
    try:
        return await handler(request)
    except StoreError as error:
        return json_response(error.body, error.status)
    except web.HTTPNotFound:
        return json_response(NOT_FOUND, 404)
    except web.HTTPMethodNotAllowed:
        return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)


async def _json_body(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise StoreError(400, {"detail": "JSON parse error."}) from None


# -- read handlers -----------------------------------------------------------------


async def list_pages(request: web.Request) -> web.Response:
    store = state_of(request).store
    _check_levels(request)
    locale = _check_locale(request)
    records = store.visible_pages(
        request.match_info["page_type"],
        preview=_flag(request, "preview"),
        locale=locale,
        filters=_field_params(request),
        order=request.query.get("order"),
    )
    return _page_listing(request, records, locale)


def _page_listing(request: web.Request, records: list[Any], locale: str | None) -> web.Response:
    store = state_of(request).store
    listing = _paginate(records, request)
    alt = _flag(request, "alt_media_text")
    data = [store.page_json(record, locale, alt_media_text=alt) for record in listing.items]
    return json_response({"meta": listing.meta, "data": data})


def _paginate(records: list[Any], request: web.Request) -> Listing:
    return paginate(records, request.query)


async def get_page(request: web.Request) -> web.Response:
    store = state_of(request).store
    _check_levels(request)
    locale = _check_locale(request)
    record = store.get_page(
        request.match_info["page_type"],
        request.match_info["slug"],
        preview=_flag(request, "preview"),
    )
    alt = _flag(request, "alt_media_text")
    return json_response({"data": store.page_json(record, locale, alt_media_text=alt)})


async def search_pages(request: web.Request) -> web.Response:
    store = state_of(request).store
    _check_levels(request)
    locale = _check_locale(request)
    records = store.search_pages(
        request.query.get("query", ""),
        page_type=request.query.get("page_type") or None,
        preview=_flag(request, "preview"),
        locale=locale,
    )
    return _page_listing(request, records, locale)


def _list_post_json(data: JSON, *, exclude_body: bool) -> JSON:
    """A post as list responses show it: without `deleted`, and without `body` if asked."""
    dropped = ("deleted", "body") if exclude_body else ("deleted",)
    return {k: v for k, v in data.items() if k not in dropped}


async def list_posts(request: web.Request) -> web.Response:
    store = state_of(request).store
    filters = {
        key: request.query[key]
        for key in ("author_slug", "category_slug", "tag_slug")
        if request.query.get(key)
    }
    records = store.visible_posts(preview=_flag(request, "preview"), filters=filters)
    listing = _paginate(records, request)
    exclude_body = _flag(request, "exclude_body")
    data = [_list_post_json(record.data, exclude_body=exclude_body) for record in listing.items]
    return json_response({"meta": listing.meta, "data": data})


async def search_posts(request: web.Request) -> web.Response:
    store = state_of(request).store
    query = request.query.get("query", "")
    records = store.search_posts(query, preview=_flag(request, "preview"))
    listing = _paginate(records, request)
    data = [{**r.data, "rank": store.search_rank(r, query)} for r in listing.items]
    return json_response({"meta": listing.meta, "data": data})


async def get_post(request: web.Request) -> web.Response:
    store = state_of(request).store
    _check_locale(request)
    record = store.get_post(request.match_info["slug"])
    next_post, previous_post = store.post_neighbours(
        record.data["slug"], preview=_flag(request, "preview")
    )
    meta = {"next_post": next_post, "previous_post": previous_post}
    return json_response({"meta": meta, "data": record.data})


def _blog_terms(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
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
    _check_levels(request)
    locale = _check_locale(request)
    preview = _flag(request, "preview")
    alt = _flag(request, "alt_media_text")
    data = {
        key: [
            store.item_json(key, record, locale, alt_media_text=alt)
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
    _check_levels(request)
    locale = _check_locale(request)
    records = store.visible_items(
        key,
        preview=_flag(request, "preview"),
        locale=locale,
        filters=_field_params(request),
        order=request.query.get("order"),
    )
    listing = _paginate(records, request)
    alt = _flag(request, "alt_media_text")
    data = {key: [store.item_json(key, r, locale, alt_media_text=alt) for r in listing.items]}
    return json_response({"meta": listing.meta, "data": data})


def _item_id(request: web.Request) -> int:
    try:
        return int(request.match_info["item_id"])
    except ValueError:
        raise StoreError(404, NOT_FOUND) from None


async def get_collection_item(request: web.Request) -> web.Response:
    store = state_of(request).store
    _check_levels(request)
    locale = _check_locale(request)
    key = request.match_info["key"]
    record = store.get_item(key, _item_id(request), preview=_flag(request, "preview"))
    alt = _flag(request, "alt_media_text")
    return json_response({"data": store.item_json(key, record, locale, alt_media_text=alt)})


async def get_feed(request: web.Request) -> web.Response:
    store = state_of(request).store
    _check_locale(request)
    kind = request.match_info["kind"]
    filters = {k: request.query[k] for k in ("category_slug", "tag_slug") if request.query.get(k)}
    posts = [record.data for record in store.visible_posts(preview=False, filters=filters)][:20]
    if kind == "rss":
        xml = _rss(posts)
    elif kind == "atom":
        xml = _atom(posts)
    elif kind == "sitemap":
        xml = _sitemap(posts)
    else:
        raise StoreError(404, NOT_FOUND)
    return json_response({"data": xml})


_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _rss(posts: list[JSON]) -> str:
    items = "".join(
        f"<item><title>{escape(p['title'] or '')}</title><link>{escape(p['slug'])}/</link>"
        f"<description>{escape(p.get('summary') or '')}</description>"
        f"<pubDate>{escape(p.get('published') or '')}</pubDate></item>"
        for p in posts
    )
    return (
        f'{_XML_HEAD}<rss version="2.0"><channel><title>Latest blog posts</title>'
        f"<link>rss/</link>{items}</channel></rss>"
    )


def _atom(posts: list[JSON]) -> str:
    entries = "".join(
        f"<entry><title>{escape(p['title'] or '')}</title><id>{escape(p['slug'])}/</id>"
        f"<updated>{escape(p.get('updated') or '')}</updated></entry>"
        for p in posts
    )
    return (
        f'{_XML_HEAD}<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us">'
        f"<title>Latest blog posts</title>{entries}</feed>"
    )


def _sitemap(posts: list[JSON]) -> str:
    urls = "".join(f"<url><loc>{escape(p['slug'])}/</loc></url>" for p in posts)
    return f'{_XML_HEAD}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


# -- write handlers ----------------------------------------------------------------


def _accepted(warnings: list[str] | None = None) -> web.Response:
    return json_response({**PENDING, "warnings": warnings} if warnings else PENDING, 202)


def _no_content() -> web.Response:
    return web.Response(status=204)


async def create_page(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    record = store.validate_page_create(await _json_body(request), request.query.get("locale"))
    key = ("page", f"{record.page_type}/{record.slug}")
    if key in state.pending:
        raise StoreError(400, {"slug": [f"A page with slug {record.slug!r} already exists."]})
    state.apply_later(lambda: [store.add_page(record)], key)
    return _accepted()


async def update_page(request: web.Request) -> web.Response:
    state = state_of(request)
    mutation = state.store.page_update(
        request.match_info["page_type"],
        request.match_info["slug"],
        await _json_body(request),
        request.query.get("locale"),
    )
    state.apply_later(mutation, None)
    return _accepted()


async def delete_page(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    record = store.get_page(
        request.match_info["page_type"], request.match_info["slug"], preview=True
    )
    state.webhooks.send([store.delete_page(record)])
    return _no_content()


async def create_post(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    record = store.validate_post_create(await _json_body(request))
    slug = record.data["slug"]
    key = ("post", slug)
    if key in state.pending:
        raise StoreError(400, {"slug": [f"A post with slug {slug!r} already exists."]})
    state.apply_later(lambda: [store.add_post(record)], key)
    return _accepted()


async def update_post(request: web.Request) -> web.Response:
    state = state_of(request)
    mutation, warnings = state.store.post_update(
        request.match_info["slug"], await _json_body(request)
    )
    state.apply_later(mutation, None)
    return _accepted(warnings)


async def delete_post(request: web.Request) -> web.Response:
    state = state_of(request)
    state.webhooks.send([state.store.delete_post(request.match_info["slug"])])
    return _no_content()


async def create_collection_item(request: web.Request) -> web.Response:
    state = state_of(request)
    store = state.store
    body = await _json_body(request)
    if "key" in request.match_info and isinstance(body, dict):
        body = {**body, "key": request.match_info["key"]}
    records = store.validate_item_create(body, request.query.get("locale"))
    key = body["key"]
    state.apply_later(lambda: store.add_items(key, records), None)
    return _accepted()


async def update_collection_item(request: web.Request) -> web.Response:
    state = state_of(request)
    mutation = state.store.item_update(
        request.match_info["key"],
        _item_id(request),
        await _json_body(request),
        request.query.get("locale"),
        replace=request.method == "PUT",
    )
    state.apply_later(mutation, None)
    return _accepted()


async def delete_collection_item(request: web.Request) -> web.Response:
    state = state_of(request)
    change = state.store.delete_item(request.match_info["key"], _item_id(request))
    state.webhooks.send([change])
    return _no_content()


def build_app(state: EmulatorState) -> web.Application:
    """The aiohttp application serving `state` under `/v2/`."""
    app = web.Application(
        middlewares=[observe, realism, trailing_slash, authenticate, store_errors]
    )
    app[STATE_KEY] = state
    r = app.router
    v2 = API_ROOT.rstrip("/")
    r.add_get(f"{v2}/pages/search/", search_pages)
    r.add_post(f"{v2}/pages/", create_page)
    r.add_get(f"{v2}/pages/{{page_type}}/", list_pages)
    r.add_get(f"{v2}/pages/{{page_type}}/{{slug}}/", get_page)
    for method in ("PATCH", "PUT"):
        r.add_route(method, f"{v2}/pages/{{page_type}}/{{slug}}/", update_page)
        r.add_route(method, f"{v2}/posts/{{slug}}/", update_post)
        r.add_route(method, f"{v2}/content/{{key}}/{{item_id}}/", update_collection_item)
    r.add_delete(f"{v2}/pages/{{page_type}}/{{slug}}/", delete_page)
    r.add_get(f"{v2}/posts/", list_posts)
    r.add_post(f"{v2}/posts/", create_post)
    r.add_get(f"{v2}/posts/search/", search_posts)
    r.add_get(f"{v2}/posts/{{slug}}/", get_post)
    r.add_delete(f"{v2}/posts/{{slug}}/", delete_post)
    for kind in ("authors", "categories", "tags"):
        r.add_get(f"{v2}/{kind}/", _blog_terms(kind))
        r.add_get(f"{v2}/{kind}/{{slug}}/", _blog_terms(kind))
    r.add_get(f"{v2}/content/", get_collections)
    r.add_post(f"{v2}/content/", create_collection_item)
    r.add_get(f"{v2}/content/{{key}}/", list_collection)
    r.add_post(f"{v2}/content/{{key}}/", create_collection_item)
    r.add_get(f"{v2}/content/{{key}}/{{item_id}}/", get_collection_item)
    r.add_delete(f"{v2}/content/{{key}}/{{item_id}}/", delete_collection_item)
    r.add_get(f"{v2}/feeds/{{kind}}/", get_feed)
    return app
