"""Example payloads printed in the ButterCMS docs (tests/fixtures/docs/) fit our models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from butter_async import CollectionItem, Media, Page
from butter_async.models.converter import structure
from butter_async.testing import Emulator
from butter_async.webhooks import (
    CollectionItemEvent,
    MediaEvent,
    PageEvent,
    PostEvent,
    UnknownEvent,
    parse_event,
)

DOCS = Path(__file__).parent / "fixtures" / "docs"


def example(name: str) -> Any:
    """The `payload` of `tests/fixtures/docs/<name>.json`."""
    return json.loads((DOCS / f"{name}.json").read_text())["payload"]


WEBHOOKS = sorted(path.stem for path in DOCS.glob("webhook_*.json"))


def test_every_documented_event_has_an_example() -> None:
    events = {example(name)["webhook"]["event"] for name in WEBHOOKS}
    assert events == {
        "page.published",
        "page.draft",
        "page.unpublished",
        "page.delete",
        "post.published",
        "post.draft",
        "post.delete",
        "post.localization.published",
        "post.localization.draft",
        "post.localization.delete",
        "collectionitem.published",
        "collectionitem.draft",
        "collectionitem.unpublished",
        "collectionitem.delete",
        "media.videouploaded",
    }


@pytest.mark.parametrize("name", WEBHOOKS)
def test_documented_webhooks_parse_into_typed_events(name: str) -> None:
    payload = example(name)
    event = parse_event(json.dumps(payload).encode(), allow_unauthenticated=True)
    assert event.event == payload["webhook"]["event"]
    assert event.target == "https://yourapp.com/webhooks/buttercms"
    data = payload["data"]
    if event.kind == "page":
        assert isinstance(event.data, PageEvent)
        assert (event.data.slug, event.data.buttercms_id, event.data.status) == (
            data["id"],
            data["buttercms_id"],
            data["status"],
        )
    elif event.kind == "post":
        assert event.data == PostEvent(
            slug=data["id"], buttercms_id=data["_id"], locale=data.get("locale")
        )
    elif event.kind == "collectionitem":
        assert isinstance(event.data, CollectionItemEvent)
        assert event.data.key == data["id"]
        assert f"[_id={event.data.item_id}]" in data["itemid"]
    else:
        assert event.data == MediaEvent(
            id="promotional-video-2024",
            media_id=12345,
            filename="company-promo.mp4",
            size=52428800,
            url="https://cdn.buttercms.com/video/company-promo.mp4",
        )


def test_page_draft_example_details() -> None:
    event = parse_event(example("webhook_page_draft"), allow_unauthenticated=True)
    assert isinstance(event.data, PageEvent)
    assert event.data.locale == "en"
    assert event.data.scheduled == datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
    assert event.data.published is None and not event.data.is_single_page


def test_single_page_events_carry_a_star_page_type() -> None:
    # webhook-payloads-data: page_type is "Page type key, or * for single pages".
    payload = example("webhook_page_published")
    payload["data"]["page_type"] = "*"
    event = parse_event(payload, allow_unauthenticated=True)
    assert isinstance(event.data, PageEvent) and event.data.is_single_page


def test_a_localized_post_event_is_a_post_event_with_its_locale() -> None:
    # api-reference/post-events/localized-blog-post-deleted
    event = parse_event(example("webhook_post_localization_delete"), allow_unauthenticated=True)
    assert (event.kind, event.action) == ("post", "localization.delete")
    assert event.data == PostEvent(slug="outdated-announcement", buttercms_id=3456, locale="de")


def test_an_unknown_future_event_parses_instead_of_failing() -> None:
    event = parse_event(
        {"data": {"id": 7, "x": [1]}, "webhook": {"event": "form.submitted"}},
        allow_unauthenticated=True,
    )
    assert (event.kind, event.action) == ("form", "submitted")
    assert event.data == UnknownEvent({"id": 7, "x": [1]})
    media = parse_event(
        {"data": {"cdn_url": "https://cdn/x"}, "webhook": {"event": "media.updated"}},
        allow_unauthenticated=True,
    )
    assert isinstance(media.data, MediaEvent) and media.data.cdn_url == "https://cdn/x"


def test_documented_page_examples_structure() -> None:
    typed: Page[dict[str, Any]] = structure(example("page_get_typed")["data"], Page[dict[str, Any]])
    assert (typed.slug, typed.page_type) == ("example-news-page", "news")
    assert typed.fields["sections"][1]["type"] == "product_video"
    assert typed.updated == datetime(2020, 10, 22, 20, 7, 52, 965850, tzinfo=UTC)
    single: Page[dict[str, Any]] = structure(
        example("page_get_single")["data"], Page[dict[str, Any]]
    )
    assert (single.page_type, single.status, single.scheduled) == (None, "published", None)
    listed = [
        structure(page, Page[dict[str, Any]]) for page in example("page_list_single_pages")["data"]
    ]
    assert [page.slug for page in listed] == ["single-page-1", "single-page-2"]
    assert all(page.name is None for page in listed)


@attrs.define
class Artist:
    name: str
    genre: str
    formed_year: int
    description: str


def test_documented_collection_example_structures() -> None:
    items = [
        structure(raw, CollectionItem[Artist])
        for raw in example("collection_list")["data"]["artists"]
    ]
    assert [(item.id, item.fields.name, item.fields.formed_year) for item in items] == [
        (123, "The Beatles", 1960),
        (124, "The Rolling Stones", 1962),
    ]


@attrs.define
class Hero:
    hero_image: Media


def test_documented_media_alt_text_structures() -> None:
    hero = structure(example("media_field_alt_text"), Hero)
    assert hero.hero_image == Media(
        url="https://cdn.buttercms.com/abc123xyz",
        alt="Team collaboration meeting in modern office",
    )


async def test_the_emulator_accepts_the_documented_write_bodies() -> None:
    async with Emulator() as emu:
        emu.store.authors["your-author"] = {
            **emu.store.authors["sdk-tests"],
            "slug": "your-author",
            "email": "your@author.com",
        }
        emu.define_collection("contacts", ["field1_key", "field2_key", "contact_email"])
        async with emu.client() as butter:
            transport = butter.transport
            await transport.request(
                "POST", ["posts"], content=orjson.dumps(example("post_create_body")), auth="write"
            )
            post = (await butter.posts.get("this-is-a-blog-post")).post
            assert [tag.name for tag in post.tags] == ["Butter", "Sushi", "Really Good Recipes"]
            assert post.author is not None and post.author.email == "your@author.com"
            await transport.request(
                "PATCH",
                ["posts", post.slug],
                content=orjson.dumps(example("post_update_body")),
                auth="write",
            )
            assert (await butter.posts.get("the-new-post-slug")).post.body.startswith("<h1>Up")
            await butter.collections.create_item(
                "contacts", {"field1_key": "a", "field2_key": "b", "contact_email": "c"}
            )
            item_id = max(emu.store.items["contacts"])
            path = ["content", "contacts", item_id]
            await transport.request(
                "PATCH",
                path,
                content=orjson.dumps(example("collection_item_patch_body")),
                auth="write",
            )
            assert emu.store.items["contacts"][item_id].fields[None] == {
                "field1_key": "a",
                "field2_key": "Only this field gets updated",
                "contact_email": "c",
            }
            await transport.request(
                "PUT", path, content=orjson.dumps(example("collection_item_put_body")), auth="write"
            )
            assert (
                emu.store.items["contacts"][item_id].fields[None]
                == (example("collection_item_put_body")["fields"])
            )
