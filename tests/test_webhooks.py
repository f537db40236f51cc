"""Webhook parsing and handlers, with the payloads ButterCMS documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from butter_async.webhooks import (
    CollectionItemEvent,
    PageEvent,
    PostEvent,
    WebhookError,
    WebhookEvent,
    aiohttp_handler,
    parse_event,
)

PAGE_PUBLISHED = {
    "data": {
        "id": "product-launch",
        "buttercms_id": 5678,
        "page_type": "landing",
        "editor": "Marketing Team",
        "name": "Product Launch Landing Page",
        "timestamp": "2024-01-15T14:30:00",
        "locale": None,
        "status": "published",
        "updated": "2024-01-15T14:30:00.123456Z",
        "published": "2024-01-15T14:30:00.123456Z",
        "scheduled": None,
    },
    "webhook": {"event": "page.published", "target": "https://yourapp.com/webhooks/buttercms"},
}
POST_DRAFT = {
    "data": {"id": "work-in-progress-post", "_id": 9012},
    "webhook": {"event": "post.draft", "target": "https://yourapp.com/hook"},
}
ITEM_PUBLISHED = {
    "data": {
        "id": "products",
        "itemid": "/v2/content/?keys=products[_id=5678]",
        "label": "Wireless Headphones Pro",
        "editor": "Product Manager",
        "timestamp": "2024-01-15T13:45:00",
        "locale": None,
        "status": "published",
    },
    "webhook": {"event": "collectionitem.published", "target": "https://yourapp.com/hook"},
}


def test_page_event() -> None:
    event = parse_event(orjson.dumps(PAGE_PUBLISHED), allow_unauthenticated=True)
    assert (event.kind, event.action, event.target) == (
        "page",
        "published",
        "https://yourapp.com/webhooks/buttercms",
    )
    assert isinstance(event.data, PageEvent)
    assert (event.data.slug, event.data.buttercms_id, event.data.page_type) == (
        "product-launch",
        5678,
        "landing",
    )
    assert event.data.published == datetime(2024, 1, 15, 14, 30, 0, 123456, tzinfo=UTC)
    assert event.data.timestamp == datetime(2024, 1, 15, 14, 30, tzinfo=UTC)


def test_post_and_collection_item_events() -> None:
    post = parse_event(orjson.dumps(POST_DRAFT), allow_unauthenticated=True)
    assert post.data == PostEvent(slug="work-in-progress-post", buttercms_id=9012)
    assert post.action == "draft"
    item = parse_event(ITEM_PUBLISHED, allow_unauthenticated=True)
    assert isinstance(item.data, CollectionItemEvent)
    assert (item.data.key, item.data.item_id, item.data.label) == (
        "products",
        5678,
        "Wireless Headphones Pro",
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"<html>", 400, "not JSON"),
        (b"[]", 400, "JSON object"),
        (b'{"data": {}}', 400, "'webhook' and 'data'"),
        (orjson.dumps({**POST_DRAFT, "webhook": {"event": ".draft"}}), 400, "no kind"),
        (orjson.dumps({**POST_DRAFT, "webhook": {"event": 7}}), 400, "no event name"),
        (orjson.dumps({"data": {"_id": 1}, "webhook": {"event": "post.draft"}}), 400, "'id'"),
        (orjson.dumps({**PAGE_PUBLISHED, "data": {"id": "x", "updated": "soon"}}), 400, "fit"),
        (b"{" + b" " * 2000 + b"}", 413, "over"),
    ],
)
def test_bad_payloads_are_refused_with_the_status_to_answer(
    body: bytes, status: int, message: str
) -> None:
    with pytest.raises(WebhookError, match=message) as caught:
        parse_event(body, max_body=1000, allow_unauthenticated=True)
    assert caught.value.status == status


def test_shared_secret_header() -> None:
    body = orjson.dumps(POST_DRAFT)
    headers = {"x-butter-webhook-secret": "s3cret"}
    assert parse_event(body, headers, secret="s3cret").kind == "post"
    for wrong in ({}, {"X-Butter-Webhook-Secret": "nope"}):
        with pytest.raises(WebhookError) as caught:
            parse_event(body, wrong, secret="s3cret")
        assert caught.value.status == 401


async def test_aiohttp_handler_invalidates_a_cache_on_page_published() -> None:
    cache: dict[str, Any] = {"product-launch": "<html>old</html>", "other": "<html>keep</html>"}
    seen: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        seen.append(event)
        if event.event == "page.published" and isinstance(event.data, PageEvent):
            cache.pop(event.data.slug, None)

    app = web.Application()
    app.router.add_post("/hooks/butter", aiohttp_handler(on_event, secret="s3cret", max_body=4096))
    async with TestClient(TestServer(app)) as client:
        ok = await client.post(
            "/hooks/butter", json=PAGE_PUBLISHED, headers={"X-Butter-Webhook-Secret": "s3cret"}
        )
        assert (ok.status, await ok.json()) == (200, {"received": "page.published"})
        unauthorised = await client.post("/hooks/butter", json=PAGE_PUBLISHED)
        assert unauthorised.status == 401
        too_big = await client.post(
            "/hooks/butter", data=b"x" * 5000, headers={"X-Butter-Webhook-Secret": "s3cret"}
        )
        assert too_big.status == 413
        bad = await client.post(
            "/hooks/butter", data=b"nope", headers={"X-Butter-Webhook-Secret": "s3cret"}
        )
        assert (bad.status, (await bad.json())["detail"]) == (400, "webhook body is not JSON")
    assert cache == {"other": "<html>keep</html>"}
    assert len(seen) == 1
