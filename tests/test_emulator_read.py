"""The SDK's read resources against the emulator over real TCP return the seeded content."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import parse_qsl

import attrs
import pytest
import pytest_asyncio

from butter_async import (
    AuthenticationError,
    ButterClient,
    Cursor,
    NotFoundError,
    PermissionDeniedError,
)
from butter_async.testing import Emulator, SeedSpec

SPEC = SeedSpec(posts=250, pages=120, single_pages=3, collection_items=130, drafts_every=10)


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(seed=SPEC) as emu:
        yield emu


@pytest_asyncio.fixture
async def butter(emulator: Emulator) -> AsyncIterator[ButterClient]:
    async with emulator.client() as client:
        yield client


def published_post_slugs(emulator: Emulator) -> list[str]:
    posts = [r.data for r in emulator.store.posts.values() if r.status == "published"]
    posts.sort(key=lambda data: data["published"], reverse=True)
    return [data["slug"] for data in posts]


async def test_posts_stream_in_api_order_exactly_once(
    emulator: Emulator, butter: ButterClient
) -> None:
    slugs = [post.slug async for post in butter.posts.list(page_size=20)]
    assert slugs == published_post_slugs(emulator)
    assert len(slugs) == 1 + 250 - 25  # the recorded example + generated, minus drafts
    assert emulator.state.endpoint_counts["GET posts"] == -(-len(slugs) // 20)


async def test_collect_with_a_limit_is_billed_only_for_the_pages_it_reads(
    emulator: Emulator, butter: ButterClient
) -> None:
    first_25 = await butter.posts.list(page_size=10).collect(limit=25)
    assert [post.slug for post in first_25] == published_post_slugs(emulator)[:25]
    assert emulator.state.endpoint_counts["GET posts"] == 3  # not 1 + the prefetch window


async def test_a_few_latest_posts_download_just_those(
    emulator: Emulator, butter: ButterClient
) -> None:
    latest = await butter.posts.list().collect(limit=3)
    first = await butter.posts.list().first()
    assert [post.slug for post in latest] == published_post_slugs(emulator)[:3]
    assert first is not None and first.slug == latest[0].slug
    sizes = [dict(parse_qsl(record.query))["page_size"] for record in emulator.requests]
    assert sizes == ["3", "1"]


async def test_preview_shows_drafts(emulator: Emulator, butter: ButterClient) -> None:
    everything = await butter.posts.list(preview=True).collect()
    assert len(everything) == 251
    assert sum(post.status == "draft" for post in everything) == 25
    published = await butter.posts.list().collect()
    assert "post-000009" not in {post.slug for post in published}


async def test_post_by_slug_is_served_whatever_its_status(butter: ButterClient) -> None:
    # retrieve-single-post: "retrieves posts regardless of their publication status".
    assert (await butter.posts.get("post-000009")).post.status == "draft"
    assert (await butter.posts.get("post-000009", preview=True)).post.status == "draft"
    with pytest.raises(NotFoundError):
        await butter.posts.get("no-such-post")


async def test_post_filters_and_exclude_body(butter: ButterClient) -> None:
    by_author = await butter.posts.list(author_slug="author-1").collect()
    assert by_author and all(post.author and post.author.slug == "author-1" for post in by_author)
    by_tag = await butter.posts.list(tag_slug="tag-2", exclude_body=True).collect()
    assert by_tag and all("tag-2" in {t.slug for t in post.tags} for post in by_tag)
    assert all(post.body is None for post in by_tag)
    by_category = await butter.posts.list(category_slug="category-4").collect()
    assert {c.slug for post in by_category for c in post.categories} == {"category-4"}


async def test_post_detail_neighbours(emulator: Emulator, butter: ButterClient) -> None:
    slugs = published_post_slugs(emulator)
    detail = await butter.posts.get(slugs[5])
    assert detail.post.slug == slugs[5]
    assert detail.next_post is not None and detail.next_post.slug == slugs[4]
    assert detail.previous_post is not None and detail.previous_post.slug == slugs[6]
    assert isinstance(detail.post.published, datetime)
    assert detail.post.published.tzinfo is not None


async def test_post_search(butter: ButterClient) -> None:
    found = await butter.posts.search("Post 117:").collect()
    assert [post.slug for post in found] == ["post-000117"]


async def test_offset_pagination_gives_the_same_posts(butter: ButterClient) -> None:
    by_page = [p.slug async for p in butter.posts.list(page_size=30)]
    by_offset = [p.slug async for p in butter.posts.list(page_size=30, pagination="offset")]
    assert by_offset == by_page


async def test_resume_a_stream_from_its_cursor(butter: ButterClient) -> None:
    everything = [p.slug async for p in butter.posts.list(page_size=25)]
    pager = butter.posts.list(page_size=25)
    head = []
    async for post in pager:
        head.append(post.slug)
        if len(head) == 60:
            break
    assert pager.cursor == Cursor(page=3, skip=10)
    tail = [p.slug async for p in butter.posts.list(page_size=25, resume_from=pager.cursor)]
    assert head + tail == everything


async def test_pages_of_a_type_with_filters_and_order(butter: ButterClient) -> None:
    recipes = await butter.pages.list("recipe").collect()
    assert len(recipes) == 120 - 12
    assert recipes[0].fields["ingredients"][0]["grams"] == 10
    four = await butter.pages.list("recipe", fields={"servings": 4}).collect()
    assert four and all(page.fields["servings"] == 4 for page in four)
    ordered = await butter.pages.list("recipe", order="-fields.servings").collect()
    servings = [page.fields["servings"] for page in ordered]
    assert servings == sorted(servings, reverse=True)


@attrs.frozen
class Recipe:
    headline: str
    servings: int
    ingredients: list[dict[str, object]]


async def test_pages_structure_into_a_user_class(butter: ButterClient) -> None:
    page = await butter.pages.get("recipe", "recipe-000003", fields_type=Recipe)
    assert isinstance(page.fields, Recipe)
    assert page.fields.servings == 4
    first = await butter.pages.list("recipe", fields_type=Recipe).first()
    assert first is not None and isinstance(first.fields, Recipe)


async def test_single_pages_and_search(butter: ButterClient) -> None:
    singles = await butter.pages.list("*").collect()
    assert {page.slug for page in singles} == {
        "simple-page",
        "single-page-0000",
        "single-page-0001",
        "single-page-0002",
    }
    assert all(page.page_type is None for page in singles)
    found = await butter.pages.search("sample landing page").collect()
    assert [page.slug for page in found] == ["landing-page-with-components"]
    with pytest.raises(NotFoundError, match="Page not found"):
        await butter.pages.get("recipe", "no-such-recipe")


async def test_collections(emulator: Emulator, butter: ButterClient) -> None:
    items = [item async for item in butter.collections.list("products", page_size=50)]
    assert len(items) == 130
    assert [item.fields["sku"] for item in items[:2]] == ["SKU-000000", "SKU-000001"]
    ids = sorted(emulator.store.items["products"])
    assert [item.id for item in items] == ids
    one = await butter.collections.get_item("products", ids[7])
    assert one.fields["name"] == "Product 7"
    both = await butter.collections.get_many(["products", "navigation_menu_item"])
    assert len(both["products"]) == 130 and len(both["navigation_menu_item"]) == 6
    cheap = await butter.collections.list("products", fields={"price": 105}).collect()
    assert [item.fields["name"] for item in cheap] == ["Product 5"]
    with pytest.raises(PermissionDeniedError):
        await butter.collections.list("products", fields={"colour": "red"}).first()
    with pytest.raises(NotFoundError, match="Content key nope not found"):
        await butter.collections.get_many(["nope"])


async def test_a_reference_field_shows_the_referenced_item_as_it_is_now(
    emulator: Emulator, butter: ButterClient
) -> None:
    """The recorded menu references its menu items: an edited item shows in it."""

    async def menu_labels() -> list[str]:
        menu = await butter.collections.list("navigation_menu").first()
        assert menu is not None
        return [entry["label"] for entry in menu.fields["menu_items"]]

    assert (await menu_labels())[:2] == ["Home", "About"]
    await butter.collections.update_item("navigation_menu_item", 735746, {"label": "Who we are"})
    assert (await menu_labels())[:2] == ["Home", "Who we are"]


async def test_blog_metadata_and_feeds(butter: ButterClient) -> None:
    authors = await butter.authors.list()
    assert [a.slug for a in authors] == ["sdk-tests", "author-0", "author-1", "author-2"]
    author = await butter.authors.get("author-0", include_recent_posts=True)
    assert author.recent_posts and len(author.recent_posts) == 10
    assert {len(await butter.categories.list()), len(await butter.tags.list())} == {6, 9}
    rss = await butter.feeds.rss(tag_slug="tag-1")
    assert rss.startswith("<?xml") and "<rss" in rss
    assert "<urlset" in await butter.feeds.sitemap()
    assert "<feed" in await butter.feeds.atom()


async def test_wrong_token_is_refused(emulator: Emulator) -> None:
    async with ButterClient("wrong", base_url=emulator.url) as butter:
        with pytest.raises(AuthenticationError, match="Invalid token"):
            await butter.posts.list().first()


async def test_locales(emulator: Emulator) -> None:
    async with Emulator(locales=("en", "fr")) as emu, emu.client() as butter:
        emu.store.page("simple-page").fields["fr"]["headline"] = "Bonjour"
        page = await butter.pages.get("*", "simple-page", locale="fr")
        assert page.fields["headline"] == "Bonjour"
        default = await butter.pages.get("*", "simple-page")
        assert default.fields["headline"].startswith("Acme")


async def test_pytest_plugin_fixture(butter_client: ButterClient) -> None:
    detail = await butter_client.posts.get("example-post")
    assert detail.post.title == "Example Post"


async def test_request_log_of_a_long_running_emulator_stays_bounded(
    emulator: Emulator, butter: ButterClient
) -> None:
    emulator.state.request_log_limit = 10
    slugs = published_post_slugs(emulator)[:25]
    for slug in slugs:
        await butter.posts.get(slug)
    assert 5 <= len(emulator.requests) <= 10
    assert emulator.requests[-1].path == f"posts/{slugs[-1]}/"
    assert emulator.state.calls == 25
