"""Typed ButterCMS webhook events, a parser, and ready handlers for aiohttp or any framework.

ButterCMS POSTs `{"data": {...}, "webhook": {"event": "page.published", "target": ...}}`.
Page, post, collection item and media events are typed as the docs describe them; an
event name this version does not know (ButterCMS may add some) parses into an
`UnknownEvent` holding its data, so a handler still answers 200 to it.
Webhooks can carry custom headers configured in the dashboard (Settings > Webhooks >
Headers): put a shared secret in one and pass it here as `secret=`. A secret is required
unless `allow_unauthenticated=True` says the route is protected some other way: an open
route lets any web page make visitors' browsers spend your API quota. ButterCMS waits
5 seconds for an answer and does not redeliver, so handlers should answer quickly.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
import orjson

from .errors import ButterError, CacheBackendError, ConfigurationError, WebhookError
from .models.converter import structure

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_SECRET_HEADER",
    "Action",
    "CollectionItemEvent",
    "ContentKind",
    "EventData",
    "Invalidates",
    "MediaEvent",
    "PageEvent",
    "PostEvent",
    "UnknownEvent",
    "WebhookEvent",
    "aiohttp_handler",
    "parse_event",
    "verify_secret",
]

#: The event kinds this version types; `WebhookEvent.kind` may hold others.
ContentKind = Literal["page", "post", "collectionitem", "media"]
#: The content actions this version knows; media events have their own (`videouploaded`).
Action = Literal["published", "draft", "unpublished", "delete"]
DEFAULT_SECRET_HEADER = "X-Butter-Webhook-Secret"
DEFAULT_MAX_BODY = 1024 * 1024
#: Longer than any slug or collection key ButterCMS makes; a longer one is refused, so an
#: open route cannot fill a cache's tag store with huge keys.
MAX_SLUG_LENGTH = 256
_ITEM_ID = re.compile(r"_id=(\d{1,18})(?!\d)")


@attrs.define
class PageEvent:
    """A page changed: `slug` (the payload's `id`) and the page's state.

    `page_type` is the page type's key, or `"*"` for a single page.
    """

    slug: str
    buttercms_id: int | None = None
    page_type: str | None = None
    name: str | None = None
    editor: str | None = None
    locale: str | None = None
    status: str | None = None
    timestamp: datetime | None = None
    updated: datetime | None = None
    published: datetime | None = None
    scheduled: datetime | None = None

    @property
    def is_single_page(self) -> bool:
        """Whether the page is a single page (the payload's `page_type` is `"*"`)."""
        return self.page_type == "*"


@attrs.define
class PostEvent:
    """A blog post changed: `slug` (the payload's `id`) and its numeric id (`_id`);
    `locale` is set by the localized events (`post.localization.published` ...)."""

    slug: str
    buttercms_id: int | None = None
    locale: str | None = None


@attrs.define
class CollectionItemEvent:
    """A collection item changed: the collection `key` (the payload's `id`) and the item."""

    key: str
    item_id: int | None = None
    item_path: str | None = None
    label: str | None = None
    editor: str | None = None
    locale: str | None = None
    status: str | None = None
    timestamp: datetime | None = None


@attrs.define
class MediaEvent:
    """A media library event (e.g. `media.videouploaded`); the docs say its data varies."""

    id: str | None = None
    media_id: int | None = None
    filename: str | None = None
    size: int | None = None
    url: str | None = None
    cdn_url: str | None = None


@attrs.define
class UnknownEvent:
    """The data of an event this version does not know, as it was sent."""

    fields: dict[str, Any]


EventData = PageEvent | PostEvent | CollectionItemEvent | MediaEvent | UnknownEvent


@attrs.define
class WebhookEvent:
    """One webhook call: the event name, split into kind and action, and its typed data.

    `kind` is one of `ContentKind` for the documented events; anything else comes with
    `UnknownEvent` data. A localized event's action keeps its prefix
    (`post.localization.delete`: kind `post`, action `localization.delete`).
    """

    event: str
    kind: str
    action: str
    target: str | None
    data: EventData
    raw: dict[str, Any] = attrs.field(repr=False)


_CONTENT_KINDS = ("page", "post", "collectionitem")
_ACTIONS = ("published", "draft", "unpublished", "delete", "all")
#: Localized variants of the actions, e.g. `post.localization.published`, carry `locale`.
_LOCALIZED = "localization."


def _data_of(kind: str, action: str, data: dict[str, Any]) -> EventData:
    if kind == "media":
        media: MediaEvent = structure(data, MediaEvent)
        return media
    if kind not in _CONTENT_KINDS or action.removeprefix(_LOCALIZED) not in _ACTIONS:
        return UnknownEvent(dict(data))
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise WebhookError(400, "webhook data has no 'id'")
    if len(data["id"]) > MAX_SLUG_LENGTH:
        raise WebhookError(400, f"webhook data 'id' is longer than {MAX_SLUG_LENGTH} characters")
    if kind == "page":
        page: PageEvent = structure({**data, "slug": data["id"]}, PageEvent)
        return page
    if kind == "post":
        return PostEvent(
            slug=data["id"],
            buttercms_id=structure(data.get("_id"), int | None),
            locale=structure(data.get("locale"), str | None),
        )
    item_path = data.get("itemid")
    match = _ITEM_ID.search(item_path) if isinstance(item_path, str) else None
    if isinstance(item_path, str) and match is None and "_id=" in item_path:
        raise WebhookError(400, "webhook 'itemid' holds no valid item id")
    fields = {**data, "key": data["id"], "item_path": item_path}
    item: CollectionItemEvent = structure(fields, CollectionItemEvent)
    item.item_id = int(match.group(1)) if match else None
    return item


def verify_secret(headers: Mapping[str, str], secret: str, header: str) -> None:
    """Raise WebhookError(401) unless `header` carries `secret` (constant-time compare)."""
    given = next((v for k, v in headers.items() if k.lower() == header.lower()), None)
    try:
        matches = given is not None and hmac.compare_digest(given.encode(), secret.encode())
    except UnicodeError:  # bytes no secret of ours can hold
        matches = False
    if not matches:
        raise WebhookError(401, f"missing or wrong {header} header")


def _require_secret(secret: str | None, allow_unauthenticated: bool) -> None:
    if secret is None and not allow_unauthenticated:
        raise ConfigurationError(
            "a webhook route needs secret= (a custom header configured in the ButterCMS "
            "dashboard), or allow_unauthenticated=True where the route is protected elsewhere"
        )
    if secret is not None and not secret:
        raise ConfigurationError("secret= must not be empty")


def parse_event(
    body: bytes | str | Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
    secret_header: str = DEFAULT_SECRET_HEADER,
    max_body: int = DEFAULT_MAX_BODY,
    allow_unauthenticated: bool = False,
) -> WebhookEvent:
    """Validate and structure one webhook call; raises WebhookError with the status to answer
    (and nothing else, whatever the body and headers hold).

    Framework-neutral: give it the raw body and the request headers (FastAPI:
    `parse_event(await request.body(), request.headers, secret=...)`). Without `secret`,
    `allow_unauthenticated=True` must say that the route is protected elsewhere.
    """
    _require_secret(secret, allow_unauthenticated)
    if secret is not None:
        verify_secret(headers or {}, secret, secret_header)
    try:
        return _parse(body, max_body)
    except WebhookError:
        raise
    except (ButterError, ValueError, TypeError, UnicodeError, RecursionError) as error:
        # e.g. a number past Python's digit limit, or text that is not UTF-8
        raise WebhookError(400, f"webhook body is not valid ({type(error).__name__})") from None


def _parse(body: bytes | str | Mapping[str, Any], max_body: int) -> WebhookEvent:
    """`parse_event` past the secret: the body checked and structured."""
    if isinstance(body, Mapping):
        payload: Any = dict(body)
    else:
        raw = body.encode() if isinstance(body, str) else body
        if len(raw) > max_body:
            raise WebhookError(413, f"webhook body over {max_body} bytes")
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise WebhookError(400, "webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "webhook body is not a JSON object")
    meta, data = payload.get("webhook"), payload.get("data")
    if not isinstance(meta, dict) or not isinstance(data, dict):
        raise WebhookError(400, "webhook body needs 'webhook' and 'data' objects")
    event = meta.get("event")
    if not isinstance(event, str):
        raise WebhookError(400, "webhook has no event name")
    kind, _, action = event.partition(".")
    if not kind:
        raise WebhookError(400, f"webhook event name {event!r} has no kind")
    try:
        typed = _data_of(kind, action, data)
    except ButterError as error:
        raise WebhookError(400, str(error)) from None
    target = meta.get("target")
    return WebhookEvent(
        event=event,
        kind=kind,
        action=action,
        target=target if isinstance(target, str) else None,
        data=typed,
        raw=payload,
    )


class _EventInvalidation(Protocol):
    async def invalidate(self, event: WebhookEvent) -> object: ...


class Invalidates(Protocol):
    """What `invalidate=` takes: a ButterClient, whose `cache` a webhook makes stale."""

    @property
    def cache(self) -> _EventInvalidation: ...


def aiohttp_handler(
    on_event: Callable[[WebhookEvent], Awaitable[None]] | None = None,
    *,
    invalidate: Invalidates | None = None,
    secret: str | None = None,
    secret_header: str = DEFAULT_SECRET_HEADER,
    max_body: int = DEFAULT_MAX_BODY,
    allow_unauthenticated: bool = False,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp.web handler: checks, parses, makes `invalidate`'s cache stale where the
    event says, awaits `on_event(event)`, answers 200.

    Bad calls get 401 (secret), 413 (body too large) or 400 (payload) with a JSON detail;
    an invalidation the cache's store could not apply gets 503. `secret=` is required
    unless `allow_unauthenticated=True`.
    """
    from aiohttp import web

    if on_event is None and invalidate is None:
        raise ConfigurationError("aiohttp_handler needs on_event, invalidate=, or both")
    _require_secret(secret, allow_unauthenticated)

    async def handle(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > max_body:
            return web.json_response({"detail": f"body over {max_body} bytes"}, status=413)
        try:
            if secret is not None:
                verify_secret(request.headers, secret, secret_header)
            body = await _read_body(request, max_body)
            event = parse_event(body, max_body=max_body, allow_unauthenticated=True)
        except WebhookError as error:
            return web.json_response({"detail": str(error)}, status=error.status)
        if invalidate is not None:
            try:
                await invalidate.cache.invalidate(event)
            except CacheBackendError as error:
                return web.json_response({"detail": str(error)}, status=503)
        if on_event is not None:
            await on_event(event)
        return web.json_response({"received": event.event})

    return handle


async def _read_body(request: web.Request, max_body: int) -> bytes:
    """The whole body however it arrives (in pieces, chunked); WebhookError(413) past
    `max_body` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > max_body:
            raise WebhookError(413, f"webhook body over {max_body} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
