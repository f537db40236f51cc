"""The SDK and the emulator against the documented API, one test per documented rule.

Each test names the ButterCMS docs page (under buttercms.com/docs/) behind its rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import orjson
import pytest
import pytest_asyncio
from aiohttp import web

from butter_async import (
    BadRequestError,
    ButterClient,
    ConfigurationError,
    Media,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
)
from butter_async.testing import Emulator, SeedSpec
from butter_async.testing.store import PageRecord
from butter_async.webhooks import (
    CollectionItemEvent,
    PageEvent,
    PostEvent,
    WebhookEvent,
    aiohttp_handler,
)

from .conftest import recipe_fields

FAST = RetryPolicy(max_retries=2, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)
STAMP = "2024-01-01T00:00:00Z"
PRODUCT = {"name": "Lamp", "sku": "L-1", "price": 40, "in_stock": True}


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=SeedSpec(posts=12, drafts_every=4, pages=3)) as e:
        e.define_collection(
            "products", {"name": "text", "sku": "text", "price": "number", "in_stock": "text"}
        )
        yield e


@pytest_asyncio.fixture
async def butter(emu: Emulator) -> AsyncIterator[ButterClient]:
    async with emu.client(retry=FAST, timeout=5) as client:
        yield client


async def _one_item(emu: Emulator, butter: ButterClient) -> int:
    await butter.collections.create_item("products", PRODUCT, status="published")
    return max(emu.store.items["products"])


# -- 1. collection item PUT replaces, PATCH merges -------------------------------------


async def test_patch_merges_a_collection_item(emu: Emulator, butter: ButterClient) -> None:
    # collections/update-collection-item-partial: omitted fields keep their values.
    item_id = await _one_item(emu, butter)
    await butter.collections.update_item("products", item_id, {"price": 45}, verify=True)
    item = await butter.collections.get_item("products", item_id)
    assert item.fields == {**PRODUCT, "price": 45}


async def test_put_replaces_a_collection_item_whole(emu: Emulator, butter: ButterClient) -> None:
    # collections/update-collection-item-full: "completely replacing the item".
    item_id = await _one_item(emu, butter)
    result = await butter.collections.replace_item(
        "products", item_id, {"name": "Desk lamp", "price": 55}, status="published", verify=True
    )
    assert result.outcome == "updated"
    item = await butter.collections.get_item("products", item_id)
    assert item.fields == {"name": "Desk lamp", "sku": "", "price": 55, "in_stock": ""}
    sent = [r for r in emu.requests if r.method == "PUT"]
    assert [r.path for r in sent] == [f"content/products/{item_id}/"]


async def test_put_without_status_recreates_the_item_as_a_draft(
    emu: Emulator, butter: ButterClient
) -> None:
    item_id = await _one_item(emu, butter)
    await butter.collections.replace_item("products", item_id, PRODUCT)
    with pytest.raises(NotFoundError):
        await butter.collections.get_item("products", item_id)
    assert (await butter.collections.get_item("products", item_id, preview=True)).fields == PRODUCT


async def test_a_partial_put_is_refused_by_update_item(butter: ButterClient) -> None:
    with pytest.raises(ConfigurationError, match="replace_item"):
        await butter.collections.update_item(
            "products",
            1,
            {"price": 1},
            method="PUT",  # type: ignore[arg-type]
        )
    with pytest.raises(ConfigurationError, match="complete item"):
        await butter.collections.replace_item("products", 1, {})


async def test_replace_verification_fails_against_a_server_that_merges(
    emu: Emulator, butter: ButterClient
) -> None:
    """A server merging on PUT would leave `sku` behind: the read-back must notice."""
    item_id = await _one_item(emu, butter)
    record = emu.store.items["products"][item_id]
    original = emu.store.item_update

    def merging(*args: Any, replace: bool, **kwargs: Any) -> Any:
        return original(*args, replace=False, **kwargs)

    emu.store.item_update = merging  # type: ignore[method-assign]
    result = await butter.collections.replace_item(
        "products", item_id, {"name": "Desk lamp"}, status="published"
    )
    assert record.fields[None]["sku"] == "L-1"
    assert result.visible is not None and not await result.visible()


# -- 2. GET /pages/*/{slug}/ across page types --------------------------------------------


async def test_star_finds_a_typed_page(emu: Emulator, butter: ButterClient) -> None:
    # pages/get-a-single-page: "search across all page types using * as a wildcard".
    page = await butter.pages.get("*", "recipe-000000")
    assert (page.slug, page.page_type) == ("recipe-000000", "recipe")
    assert (await butter.pages.get("*", "simple-page")).page_type is None


async def test_star_answers_403_when_two_types_share_a_slug(
    emu: Emulator, butter: ButterClient
) -> None:
    # support/troubleshooting/api-error-codes: several pages with the slug under `*`.
    emu.define_page_type("news", {"headline": "text"})
    emu.store.put_page(
        PageRecord("recipe-000000", "News", "news", "published", None, STAMP, {None: {}})
    )
    with pytest.raises(PermissionDeniedError):
        await butter.pages.get("*", "recipe-000000")
    assert (await butter.pages.get("news", "recipe-000000")).page_type == "news"


async def test_updates_and_deletes_under_star_verify_typed_pages(
    emu: Emulator, butter: ButterClient
) -> None:
    updated = await butter.pages.update(
        "*", "recipe-000001", fields={"headline": "Under star"}, verify=True
    )
    assert updated.outcome == "updated"
    assert emu.store.page("recipe-000001").fields[None]["headline"] == "Under star"
    deleted = await butter.pages.delete("recipe-000001")
    await deleted.wait_until_visible(5)
    assert "recipe-000001" not in emu.store.page_slugs()


# -- 3. GET /posts/{slug}/ whatever the status ----------------------------------------------


async def test_a_draft_post_is_served_by_slug_without_preview(butter: ButterClient) -> None:
    # blog-posts/retrieve-single-post: "regardless of their publication status".
    detail = await butter.posts.get("post-000003")
    assert (detail.post.slug, detail.post.status) == ("post-000003", "draft")
    listed = {post.slug for post in await butter.posts.list().collect()}
    assert "post-000003" not in listed


# -- 4. a post's slug can change; scheduling fields --------------------------------------


async def test_renaming_a_post(emu: Emulator, butter: ButterClient) -> None:
    # blog-posts/update-blog-post-via-write-api: the example sends a new slug.
    result = await butter.posts.update(
        "post-000000", new_slug="the-new-post-slug", title="Renamed", verify=True
    )
    assert (result.key, result.outcome) == ("the-new-post-slug", "updated")
    assert (await butter.posts.get("the-new-post-slug")).post.title == "Renamed"
    with pytest.raises(NotFoundError):
        await butter.posts.get("post-000000")
    with pytest.raises(BadRequestError) as taken:
        await butter.posts.update("post-000001", new_slug="the-new-post-slug")
    assert "slug" in taken.value.field_errors


async def test_scheduling_is_refused_on_create_and_ignored_on_update(
    emu: Emulator, butter: ButterClient
) -> None:
    # create-blog-post-via-write-api: "scheduling-related fields will result in validation
    # errors"; update-...: "scheduled parameters ... silently ignored".
    future = datetime.now(UTC) + timedelta(days=3)
    with pytest.raises(ConfigurationError, match="future"):
        await butter.posts.create("later", "Later", published=future)
    raw = emu.client(retry=FAST)
    async with raw:
        transport = raw.transport
        with pytest.raises(BadRequestError) as refused:
            await transport.request(
                "POST",
                ["posts"],
                content=orjson.dumps(
                    {"title": "Later", "slug": "later", "scheduled": future.isoformat()}
                ),
                auth="write",
            )
        assert "scheduled" in refused.value.field_errors
        answer, _body = await transport.request(
            "PATCH",
            ["posts", "post-000002"],
            content=orjson.dumps({"summary": "Kept", "scheduled": future.isoformat()}),
            auth="write",
        )
    assert answer["status"] == "pending" and "scheduled" in answer["warnings"][0]
    assert emu.store.get_post("post-000002").data["summary"] == "Kept"
    past = datetime(2020, 5, 1, tzinfo=UTC)
    await butter.posts.create("backdated", "Old news", published=past, status="published")
    assert (await butter.posts.get("backdated")).post.published == past


# -- 5. page search -------------------------------------------------------------------------


async def test_search_star_returns_single_pages_by_relevance(
    emu: Emulator, butter: ButterClient
) -> None:
    # pages/search-pages: `*` searches single pages only; sorted by relevancy.
    emu.store.put_page(
        PageRecord(
            "acme-acme",
            "Acme Acme",
            None,
            "published",
            None,
            STAMP,
            {None: {"headline": "acme acme acme"}},
        )
    )
    found = await butter.pages.search("acme", page_type="*").collect()
    assert [page.slug for page in found] == ["acme-acme", "simple-page"]
    assert all(page.page_type is None for page in found)
    typed = await butter.pages.search("Recipe", page_type="recipe").collect()
    assert typed and all(page.page_type == "recipe" for page in typed)


# -- 6. parameters: locale, alt_media_text, levels -----------------------------------------


async def test_locale_on_posts_and_feeds() -> None:
    emu = Emulator(seed=SeedSpec(posts=3), locales=("en", "fr"))
    async with emu, emu.client(retry=FAST) as butter:
        assert (await butter.posts.get("post-000000", locale="fr")).post.slug
        assert "<rss" in await butter.feeds.rss(locale="fr")
        with pytest.raises(BadRequestError):
            await butter.feeds.sitemap(locale="de")
    sent = [r.query for r in emu.requests if r.path in ("posts/post-000000/", "feeds/rss/")]
    assert all("locale=fr" in query for query in sent)


@attrs.define
class Hero:
    headline: str
    hero_image: Media


async def test_alt_media_text_returns_media_objects(emu: Emulator, butter: ButterClient) -> None:
    # core-concepts/field-types/media-field: with alt_media_text=1, {"url", "alt"}.
    url = emu.store.page("recipe-000000").fields[None]["hero_image"]
    emu.store.media_alt[url] = "A bowl of soup"
    plain = await butter.pages.get("recipe", "recipe-000000")
    assert plain.fields["hero_image"] == url
    page = await butter.pages.get("recipe", "recipe-000000", alt_media_text=True, fields_type=Hero)
    assert page.fields.hero_image == Media(url=url, alt="A bowl of soup")
    listed = await butter.pages.list("recipe", alt_media_text=True).first()
    assert listed is not None and isinstance(listed.fields["hero_image"], dict)
    emu.define_collection("logos", {"name": "text", "image": "media"})
    await butter.collections.create_item(
        "logos", {"name": "Acme", "image": "https://cdn.buttercms.com/logo"}, status="published"
    )
    item = await butter.collections.list("logos", alt_media_text=True).first()
    assert item is not None
    assert item.fields["image"] == {"url": "https://cdn.buttercms.com/logo", "alt": ""}


@pytest.mark.parametrize("levels", [0, 6, -1, True])
async def test_levels_outside_one_to_five_are_refused_before_sending(
    emu: Emulator, butter: ButterClient, levels: int
) -> None:
    # build-your-app/performance/query-optimization: levels 1-5, default 2.
    before = len(emu.requests)
    with pytest.raises(ConfigurationError, match="1 to 5"):
        await butter.pages.get("recipe", "recipe-000000", levels=levels)
    with pytest.raises(ConfigurationError, match="1 to 5"):
        butter.collections.list("products", levels=levels)
    assert len(emu.requests) == before


async def test_the_emulator_answers_400_to_levels_out_of_range(emu: Emulator) -> None:
    async with emu.client(retry=FAST) as butter:
        for path in (["pages", "recipe", "recipe-000000"], ["content", "products"]):
            with pytest.raises(BadRequestError, match="levels"):
                await butter.transport.get(path, {"levels": 9})
        assert (await butter.pages.get("recipe", "recipe-000000", levels=5)).slug


# -- 7. the documented 429 is the monthly quota ------------------------------------------


async def test_spent_quota_answers_the_documented_429() -> None:
    # api/concepts/rate-limits-throttling: {"detail": "API Calls limit reached."}.
    async with Emulator(quota=1) as emu, emu.client(retry=FAST) as butter:
        await butter.authors.list()
        with pytest.raises(RateLimitError) as spent:
            await butter.authors.list()
    assert spent.value.detail == "API Calls limit reached."
    # Retry-After runs to the start of next month: past any sane cap, so no sleep.
    assert spent.value.retry_after is not None and spent.value.retry_after > 0


# -- 8 and 9. webhooks: the emulator sends them, aiohttp_handler receives them ---------------


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[str, list[WebhookEvent]]]:
    events: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        events.append(event)

    app = web.Application()
    app.router.add_post("/hooks", aiohttp_handler(on_event, secret="s3cret"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hooks", events
    finally:
        await runner.cleanup()


async def test_writes_reach_a_webhook_receiver_end_to_end(
    emu: Emulator, butter: ButterClient, receiver: tuple[str, list[WebhookEvent]]
) -> None:
    url, events = receiver
    emu.add_webhook(url, headers={"X-Butter-Webhook-Secret": "s3cret"})
    await butter.pages.create("recipe", "soup", "Soup", recipe_fields(), status="published")
    await butter.pages.update("recipe", "soup", status="draft")
    await butter.posts.create("hello", "Hello")
    await butter.posts.delete("hello")
    item_id = await _one_item(emu, butter)
    await butter.collections.update_item("products", item_id, status="draft")
    await emu.drain_webhooks()
    assert [event.event for event in events] == [
        "page.published",
        "page.unpublished",
        "post.draft",
        "post.delete",
        "collectionitem.published",
        "collectionitem.unpublished",
    ]
    page = events[0].data
    assert isinstance(page, PageEvent)
    assert (page.slug, page.page_type, page.name, page.status) == (
        "soup",
        "recipe",
        "Soup",
        "published",
    )
    assert isinstance(events[2].data, PostEvent) and events[2].data.slug == "hello"
    item = events[4].data
    assert isinstance(item, CollectionItemEvent)
    assert (item.key, item.item_id, item.label) == ("products", item_id, "Lamp")
    assert all(d.status == 200 for d in emu.webhook_deliveries)
    assert {d.body["webhook"]["target"] for d in emu.webhook_deliveries} == {url}  # type: ignore[index]


async def test_webhooks_follow_the_processing_delay_and_the_event_filter(
    receiver: tuple[str, list[WebhookEvent]],
) -> None:
    url, events = receiver
    async with Emulator(processing_delay=0.2) as emu:
        emu.add_webhook(url, events=("post.all",), headers={"X-Butter-Webhook-Secret": "s3cret"})
        emu.add_webhook(url, events=("page.published",), headers={"X-Wrong": "x"})
        async with emu.client(retry=FAST) as butter:
            await butter.posts.create("later", "Later", status="published")
            await emu.drain_webhooks()
            assert events == []  # not applied yet, so nothing was sent
            emu.state.flush_pending()  # what the processing delay would do, without waiting
            await emu.drain_webhooks()
    assert [event.event for event in events] == ["post.published"]


async def test_a_failing_receiver_never_fails_the_write(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.add_webhook("http://127.0.0.1:9/unreachable")
    result = await butter.posts.create("still-written", "Still written")
    await emu.drain_webhooks()
    assert result.outcome == "created"
    assert emu.store.get_post("still-written")
    assert [(d.event, d.status) for d in emu.webhook_deliveries] == [("post.draft", None)]


async def test_single_pages_send_a_star_page_type(emu: Emulator) -> None:
    record = emu.store.page("simple-page")
    change = emu.store.page_change(record, "published")
    assert change.data["page_type"] == "*"


# -- 10. the emulator's schema API -------------------------------------------------------------


async def test_schemas_declared_through_the_public_api() -> None:
    async with (
        Emulator(
            page_types={"article": {"headline": "text", "cover": "media", "blocks": "repeater"}},
            collections={"faq": ["question", "answer"]},
        ) as emu,
        emu.client(retry=FAST) as butter,
    ):
        await butter.pages.create(
            "article",
            "first",
            "First",
            {"headline": "Hi", "cover": "", "blocks": []},
            status="published",
        )
        await butter.collections.create_item(
            "faq", {"question": "Why?", "answer": "Because."}, status="published"
        )
        assert (await butter.pages.get("article", "first")).fields["headline"] == "Hi"
        faq = await butter.collections.list("faq").collect()
        assert [item.fields["question"] for item in faq] == ["Why?"]
        with pytest.raises(BadRequestError, match="Missing field keys"):
            await butter.pages.create("article", "second", "Second", {"headline": "x"})
    with pytest.raises(ValueError, match="kind must be one of"):
        Emulator(page_types={"bad": {"x": "colour"}})  # type: ignore[dict-item]
