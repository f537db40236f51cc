"""Every real recorded ButterCMS response, replayed through the SDK into the right model."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses

from butter_async import (
    AuthenticationError,
    ButterClient,
    CollectionItem,
    NotFoundError,
    Page,
    PostDetail,
)

from .conftest import RECORDED, recorded

Call = Callable[[ButterClient], Awaitable[Any]]


async def _stream(pager: Any) -> list[Any]:
    return list(await pager.collect())


CALLS: dict[str, Call] = {
    "authors__test_author_all": lambda b: b.authors.list(),
    "authors__test_author_all_with_posts": lambda b: b.authors.list(include_recent_posts=True),
    "authors__test_author_get": lambda b: b.authors.get("sdk-tests"),
    "authors__test_author_get_with_posts": lambda b: b.authors.get(
        "sdk-tests", include_recent_posts=True
    ),
    "categories__test_category_all": lambda b: b.categories.list(),
    "categories__test_category_all_with_recent_posts": lambda b: b.categories.list(
        include_recent_posts=True
    ),
    "categories__test_category_get": lambda b: b.categories.get("example-category"),
    "categories__test_category_get_with_recent_posts": lambda b: b.categories.get(
        "example-category", include_recent_posts=True
    ),
    "content_fields__test_content_field_all_filtered": lambda b: b.collections.get_many(
        ["navigation_menu", "navigation_menu_item"]
    ),
    "content_fields__test_content_field_all_non_existent_key": lambda b: b.collections.get_many(
        ["non-existent-key"]
    ),
    "content_fields__test_content_field_get": lambda b: _stream(
        b.collections.list("navigation_menu_item")
    ),
    "content_fields__test_content_field_get_filtered": lambda b: _stream(
        b.collections.list("navigation_menu_item", fields={"label": "Testimonials"})
    ),
    "content_fields__test_content_field_get_non_existent_field": lambda b: _stream(
        b.collections.list("not-existent-field")
    ),
    "feeds__test_feed_atom": lambda b: b.feeds.atom(),
    "feeds__test_feed_rss": lambda b: b.feeds.rss(),
    "feeds__test_feed_sitemap": lambda b: b.feeds.sitemap(),
    "pages__test_page_all": lambda b: _stream(b.pages.list("landing-page")),
    "pages__test_page_all_without_page_type": lambda b: _stream(b.pages.list("*")),
    "pages__test_page_get": lambda b: b.pages.get("landing-page", "landing-page-with-components"),
    "pages__test_page_get_non_existent": lambda b: b.pages.get("page_type", "non-existent"),
    "pages__test_page_search": lambda b: _stream(b.pages.search("sample landing page")),
    "posts__test_post_all": lambda b: _stream(b.posts.list()),
    "posts__test_post_all_exclude_body": lambda b: _stream(b.posts.list(exclude_body=True)),
    "posts__test_post_get": lambda b: b.posts.get("example-post"),
    "posts__test_post_get_not_existent": lambda b: b.posts.get("non-existent"),
    "posts__test_post_search": lambda b: _stream(b.posts.search("example blog post")),
    "tags__test_tag_all": lambda b: b.tags.list(),
    "tags__test_tag_all_with_recent_posts": lambda b: b.tags.list(include_recent_posts=True),
    "tags__test_tag_get": lambda b: b.tags.get("example-tag"),
    "tags__test_tag_get_non_existent": lambda b: b.tags.get("non-existent"),
    "tags__test_tag_get_with_recent_posts": lambda b: b.tags.get(
        "example-tag", include_recent_posts=True
    ),
}

# The call behind each "invalid token" recording is the one of its valid twin.
INVALID_TOKEN_CALLS: dict[str, Call] = {
    "authors__test_author_all_invalid_token": CALLS["authors__test_author_all"],
    "authors__test_author_get_invalid_token": CALLS["authors__test_author_get"],
    "categories__test_category_all_invalid_token": CALLS["categories__test_category_all"],
    "categories__test_category_get_invalid_token": CALLS["categories__test_category_get"],
    "content_fields__test_content_field_all_invalid_token": CALLS[
        "content_fields__test_content_field_all_filtered"
    ],
    "content_fields__test_content_field_get_invalid_token": CALLS[
        "content_fields__test_content_field_get"
    ],
    "feeds__test_feed_sitemap_invalid_token": CALLS["feeds__test_feed_sitemap"],
    "pages__test_page_all_invalid_token": CALLS["pages__test_page_all"],
    "pages__test_page_get_invalid_token": CALLS["pages__test_page_get"],
    "pages__test_page_search_invalid_token": CALLS["pages__test_page_search"],
    "posts__test_post_all_invalid_token": CALLS["posts__test_post_all"],
    "posts__test_post_get_invalid_token": CALLS["posts__test_post_get"],
    "posts__test_post_search_invalid_token": CALLS["posts__test_post_search"],
    "tags__test_tag_all_invalid_token": CALLS["tags__test_tag_all"],
    "tags__test_tag_get_invalid_token": CALLS["tags__test_tag_get"],
}

# Recordings of requests the SDK does not make as recorded, covered below by hand.
NOT_REPLAYED = {"content_fields__test_content_field_all", "feeds__test_feed_non_existent"}


def test_every_recording_is_replayed() -> None:
    names = {path.stem for path in RECORDED.glob("*.json")}
    assert len(names) == 48
    assert names == set(CALLS) | set(INVALID_TOKEN_CALLS) | NOT_REPLAYED


def serve(mocked: aioresponses, name: str) -> None:
    exchange = recorded(name)
    path = re.escape(
        exchange["uri"].split("?")[0].rstrip("/").removeprefix("https://api.buttercms.com")
    )
    mocked.add(
        re.compile(rf"^https://api\.buttercms\.com{path}/(\?.*)?$"),
        method=exchange["method"],
        status=exchange["status"],
        body=orjson.dumps(exchange["body"]),
        content_type=exchange["content_type"],
    )


async def replay(mocked: aioresponses, client: ButterClient, name: str, call: Call) -> Any:
    serve(mocked, name)
    return await call(client)


@pytest.mark.parametrize("name", sorted(INVALID_TOKEN_CALLS))
async def test_invalid_token_recordings_raise_authentication_error(
    mocked: aioresponses, client: ButterClient, name: str
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await replay(mocked, client, name, INVALID_TOKEN_CALLS[name])
    assert caught.value.status == 401
    assert caught.value.detail == "Invalid token."


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        (
            "content_fields__test_content_field_all_non_existent_key",
            "Content key non-existent-key not found",
        ),
        ("content_fields__test_content_field_get_non_existent_field", "Not found."),
        ("pages__test_page_get_non_existent", "Page not found."),
        ("posts__test_post_get_not_existent", "Not found."),
        ("tags__test_tag_get_non_existent", "Not found."),
    ],
)
async def test_not_found_recordings_raise_not_found(
    mocked: aioresponses, client: ButterClient, name: str, detail: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await replay(mocked, client, name, CALLS[name])
    assert caught.value.detail == detail


async def test_feed_of_unknown_kind_is_not_found(
    mocked: aioresponses, client: ButterClient
) -> None:
    serve(mocked, "feeds__test_feed_non_existent")
    with pytest.raises(NotFoundError):
        await client.feeds.get("non-existent")  # type: ignore[arg-type]


EXAMPLE_PUBLISHED = datetime(2024, 5, 17, 14, 13, 46, 787109, tzinfo=UTC)


async def test_authors(mocked: aioresponses, client: ButterClient) -> None:
    authors = await replay(
        mocked, client, "authors__test_author_all", CALLS["authors__test_author_all"]
    )
    assert [a.slug for a in authors][:2] == ["sdk-tests", authors[1].slug]
    assert authors[0].email == "sdktests@buttercms.com"
    assert authors[0].recent_posts is None


async def test_author_with_recent_posts(mocked: aioresponses, client: ButterClient) -> None:
    name = "authors__test_author_get_with_posts"
    author = await replay(mocked, client, name, CALLS[name])
    assert author.first_name == "SDK"
    assert author.recent_posts[0].slug == "example-post"
    assert author.recent_posts[0].published == EXAMPLE_PUBLISHED


@pytest.mark.parametrize("kind", ["categories__test_category", "tags__test_tag"])
async def test_categories_and_tags(mocked: aioresponses, client: ButterClient, kind: str) -> None:
    terms = await replay(mocked, client, f"{kind}_all", CALLS[f"{kind}_all"])
    assert len(terms) == 1
    assert terms[0].slug in ("example-category", "example-tag")
    name = next(n for n in CALLS if n.startswith(kind) and n.endswith("get_with_recent_posts"))
    term = await replay(mocked, client, name, CALLS[name])
    assert term.recent_posts[0].title == "Example Post"
    assert term.recent_posts[0].author.slug == "sdk-tests"


async def test_collections_get_many(mocked: aioresponses, client: ButterClient) -> None:
    name = "content_fields__test_content_field_all_filtered"
    data = await replay(mocked, client, name, CALLS[name])
    assert set(data) == {"navigation_menu", "navigation_menu_item"}
    menu = data["navigation_menu"][0]
    assert isinstance(menu, CollectionItem)
    assert menu.id == 735751
    assert menu.fields["name"] == "Main menu"
    assert menu.fields["menu_items"][0]["label"] == "Home"
    assert [item.id for item in data["navigation_menu_item"]] == list(range(735745, 735751))


async def test_collection_stream_and_filter(mocked: aioresponses, client: ButterClient) -> None:
    name = "content_fields__test_content_field_get"
    items = await replay(mocked, client, name, CALLS[name])
    assert [item.fields["label"] for item in items] == [
        "Home",
        "About",
        "Features",
        "Try It",
        "Testimonials",
        "Blog",
    ]
    name = "content_fields__test_content_field_get_filtered"
    [item] = await replay(mocked, client, name, CALLS[name])
    assert (item.id, item.fields["url"]) == (735749, "#testimonials")


@pytest.mark.parametrize(
    ("name", "root"),
    [
        ("feeds__test_feed_atom", "<feed"),
        ("feeds__test_feed_rss", "<rss"),
        ("feeds__test_feed_sitemap", "<urlset"),
    ],
)
async def test_feeds_are_xml_text(
    mocked: aioresponses, client: ButterClient, name: str, root: str
) -> None:
    xml = await replay(mocked, client, name, CALLS[name])
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert root in xml


async def test_pages_with_components(mocked: aioresponses, client: ButterClient) -> None:
    [page] = await replay(mocked, client, "pages__test_page_all", CALLS["pages__test_page_all"])
    assert isinstance(page, Page)
    assert page.page_type == "landing-page"
    assert page.fields["body"][0]["type"] == "hero"
    assert page.published == datetime(2024, 5, 17, 14, 14, 41, 484894, tzinfo=UTC)
    detail = await replay(mocked, client, "pages__test_page_get", CALLS["pages__test_page_get"])
    assert detail.fields["seo"]["title"].startswith("Sample Landing Page")
    found = await replay(
        mocked, client, "pages__test_page_search", CALLS["pages__test_page_search"]
    )
    assert [p.slug for p in found] == ["landing-page-with-components"]


async def test_single_pages(mocked: aioresponses, client: ButterClient) -> None:
    name = "pages__test_page_all_without_page_type"
    [page] = await replay(mocked, client, name, CALLS[name])
    assert page.page_type is None
    assert page.fields["customer_logos"][1]["logo_image"].startswith("https://cdn.buttercms.com/")


async def test_posts(mocked: aioresponses, client: ButterClient) -> None:
    [post] = await replay(mocked, client, "posts__test_post_all", CALLS["posts__test_post_all"])
    assert post.title == "Example Post"
    assert post.body is not None and post.body.startswith("<p>Welcome to ButterCMS!")
    assert post.author.first_name == "SDK"
    assert [c.slug for c in post.categories] == ["example-category"]
    assert [t.name for t in post.tags] == ["Example Tag"]
    assert post.published == EXAMPLE_PUBLISHED
    assert post.url == "/example-post"
    assert post.deleted is None
    name = "posts__test_post_all_exclude_body"
    [short] = await replay(mocked, client, name, CALLS[name])
    assert short.body is None
    assert short.summary == "This is an example blog post. Pretty neat huh?"


async def test_post_detail_and_search(mocked: aioresponses, client: ButterClient) -> None:
    detail = await replay(mocked, client, "posts__test_post_get", CALLS["posts__test_post_get"])
    assert isinstance(detail, PostDetail)
    assert detail.post.seo_title == "Example Post SEO Optimized Title"
    assert detail.next_post is None and detail.previous_post is None
    found = await replay(
        mocked, client, "posts__test_post_search", CALLS["posts__test_post_search"]
    )
    assert [p.slug for p in found] == ["example-post"]


async def test_content_without_keys_is_an_empty_object(
    mocked: aioresponses, client: ButterClient
) -> None:
    exchange = recorded("content_fields__test_content_field_all")
    assert exchange["body"] == {}
    serve(mocked, "content_fields__test_content_field_all")
    assert await client.transport.get(["content"]) == {}
