"""Deterministic content for the emulator: the recorded examples plus N generated objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from .store import (
    CollectionItemRecord,
    CollectionSchema,
    ContentStore,
    PageRecord,
    PageType,
    PostRecord,
)

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
WORDS: tuple[str, ...] = tuple(
    [
        "butter",
        "toast",
        "async",
        "stream",
        "page",
        "post",
        "collection",
        "recipe",
        "garden",
        "river",
        "copper",
        "maple",
        "lantern",
        "orbit",
        "velvet",
        "harbor",
        "meadow",
        "signal",
        "canvas",
        "ember",
    ]
)


@attrs.frozen
class SeedSpec:
    """How much content to generate (on top of the recorded examples)."""

    posts: int = 0
    authors: int = 3
    categories: int = 5
    tags: int = 8
    pages: int = 0
    page_type: str = "recipe"
    single_pages: int = 0
    collection_items: int = 0
    collection: str = "products"
    drafts_every: int = 0


def _stamp(minutes: int) -> str:
    return (EPOCH + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _words(n: int, start: int) -> str:
    return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(n))


def seed_examples(store: ContentStore) -> None:
    """The objects of the real recorded responses: one author, post, tag, category, pages."""
    store.authors["sdk-tests"] = {
        "first_name": "SDK",
        "last_name": "Tests",
        "email": "sdktests@buttercms.com",
        "slug": "sdk-tests",
        **dict.fromkeys(
            (
                "bio",
                "title",
                "linkedin_url",
                "facebook_url",
                "instagram_url",
                "pinterest_url",
                "twitter_handle",
                "profile_image",
            ),
            "",
        ),
    }
    category = store.categories.setdefault(
        "example-category", {"name": "Example Category", "slug": "example-category"}
    )
    tag = store.tags.setdefault("example-tag", {"name": "Example Tag", "slug": "example-tag"})
    store.posts["example-post"] = PostRecord(
        status="published",
        data={
            "created": "2024-05-17T14:13:46.787544Z",
            "published": "2024-05-17T14:13:46.787109Z",
            "url": None,
            "slug": "example-post",
            "featured_image": "https://cdn.buttercms.com/WUkiXJ6RCqZmjR8xihEL",
            "featured_image_alt": "",
            "author": store.authors["sdk-tests"],
            "tags": [tag],
            "categories": [category],
            "title": "Example Post",
            "body": "<p>Welcome to ButterCMS! This an example blog post written using Butter.</p>",
            "summary": "This is an example blog post. Pretty neat huh?",
            "updated": "2024-05-17T14:13:46.813008Z",
            "deleted": None,
            "seo_title": "Example Post SEO Optimized Title",
            "meta_description": "This is our example blog posts SEO optimized meta description.",
            "status": "published",
        },
    )
    store.page_types["landing-page"] = PageType(
        "landing-page", {"seo": "component", "body": "component_picker"}
    )
    fields = {
        "seo": {
            "title": "Sample Landing Page with Components - powered by ButterCMS",
            "description": "Sample Landing Page with Components - powered by ButterCMS",
        },
        "body": [
            {
                "type": "hero",
                "fields": {
                    "headline": "Welcome to your ButterCMS Proof of Concept",
                    "image": "https://cdn.buttercms.com/DVG5DLMQ9ywaCwfEAgL2",
                    "scroll_anchor_id": "home",
                },
            },
            {
                "type": "features",
                "fields": {
                    "headline": "This page is built using ButterCMS Components",
                    "features": [
                        {"headline": "Build your own", "icon": "https://cdn.buttercms.com/x"},
                    ],
                },
            },
        ],
    }
    store.put_page(
        PageRecord(
            slug="landing-page-with-components",
            name="Landing Page with Components",
            page_type="landing-page",
            status="published",
            published="2024-05-17T14:14:41.484894Z",
            updated="2024-05-17T14:14:41.522160Z",
            fields=_localised(store, fields),
        )
    )
    store.put_page(
        PageRecord(
            slug="simple-page",
            name="Simple Page",
            page_type=None,
            status="published",
            published="2024-05-17T14:14:47.533297Z",
            updated="2024-05-17T14:14:47.550734Z",
            fields=_localised(
                store,
                {
                    "seo_title": "Anvils and Dynamite | Acme Co",
                    "headline": "Acme Co provides supplies to your favorite cartoon heroes.",
                    "hero_image": "https://cdn.buttercms.com/c8oSTGcwQDC5I58km5WV",
                    "call_to_action": "Buy Now",
                    "customer_logos": [
                        {"logo_image": "https://cdn.buttercms.com/1FNvDuOJSROw1fybRCYU"},
                    ],
                },
            ),
        )
    )
    menu_items = store.items.setdefault("navigation_menu_item", {})
    store.collections["navigation_menu_item"] = CollectionSchema(
        "navigation_menu_item", ["label", "url"]
    )
    for item_id, (label, anchor) in enumerate(
        [
            ("Home", "home"),
            ("About", "about"),
            ("Features", "features"),
            ("Try It", "tryit"),
            ("Testimonials", "testimonials"),
            ("Blog", "blog"),
        ],
        start=735745,
    ):
        menu_items[item_id] = CollectionItemRecord(
            id=item_id,
            status="published",
            fields=_localised(store, {"label": label, "url": f"#{anchor}"}),
        )
    store.collections["navigation_menu"] = CollectionSchema(
        "navigation_menu", {"name": "text", "menu_items": "reference"}
    )
    store.items["navigation_menu"] = {
        735751: CollectionItemRecord(
            id=735751,
            status="published",
            fields=_localised(
                store,
                {
                    "name": "Main menu",
                    "menu_items": [
                        {"meta": {"id": record.id}, **record.fields[_default(store)]}
                        for record in menu_items.values()
                    ],
                },
            ),
        )
    }
    store.changed()


def _default(store: ContentStore) -> str | None:
    return store.locales[0] if store.locales else None


def _localised(store: ContentStore, fields: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    if not store.locales:
        return {None: fields}
    return {locale: dict(fields) for locale in store.locales}


RECIPE_SCHEMA = PageType(
    "recipe",
    {
        "headline": "text",
        "servings": "number",
        "hero_image": "media",
        "ingredients": "repeater",
        "seo": "component",
        "sections": "component_picker",
    },
)
PRODUCT_FIELDS = ["name", "sku", "price", "in_stock"]


def seed_generated(store: ContentStore, spec: SeedSpec) -> None:
    """Add `spec`'s generated authors, categories, tags, posts, pages and collection items."""
    authors = [
        store.authors.setdefault(
            f"author-{i}",
            {
                "first_name": f"Author{i}",
                "last_name": "Example",
                "email": f"author{i}@example.com",
                "slug": f"author-{i}",
                "bio": _words(6, i),
                "title": "Writer",
                **dict.fromkeys(
                    (
                        "linkedin_url",
                        "facebook_url",
                        "instagram_url",
                        "pinterest_url",
                        "twitter_handle",
                        "profile_image",
                    ),
                    "",
                ),
            },
        )
        for i in range(max(1, spec.authors))
    ]
    categories = [
        store.categories.setdefault(
            f"category-{i}", {"name": f"Category {i}", "slug": f"category-{i}"}
        )
        for i in range(max(1, spec.categories))
    ]
    tags = [
        store.tags.setdefault(f"tag-{i}", {"name": f"Tag {i}", "slug": f"tag-{i}"})
        for i in range(max(1, spec.tags))
    ]
    for i in range(spec.posts):
        status = (
            "draft"
            if spec.drafts_every and i % spec.drafts_every == spec.drafts_every - 1
            else "published"
        )
        slug = f"post-{i:06d}"
        store.posts[slug] = PostRecord(
            status=status,
            data={
                "slug": slug,
                "url": None,
                "status": status,
                "created": _stamp(i),
                "updated": _stamp(i + 1),
                "published": _stamp(i) if status == "published" else None,
                "deleted": None,
                "title": f"Post {i}: {_words(4, i)}",
                "body": f"<p>{_words(40, i)}</p>",
                "summary": _words(12, i),
                "seo_title": f"Post {i}",
                "meta_description": _words(10, i),
                "featured_image": f"https://cdn.buttercms.com/image{i % 50}",
                "featured_image_alt": "",
                "author": authors[i % len(authors)],
                "categories": [categories[i % len(categories)]],
                "tags": [tags[i % len(tags)], tags[(i + 3) % len(tags)]],
            },
        )
    if spec.pages:
        store.page_types.setdefault(
            spec.page_type, PageType(spec.page_type, dict(RECIPE_SCHEMA.fields))
        )
    for i in range(spec.pages):
        status = (
            "draft"
            if spec.drafts_every and i % spec.drafts_every == spec.drafts_every - 1
            else "published"
        )
        slug = f"{spec.page_type}-{i:06d}"
        store.put_page(
            PageRecord(
                slug=slug,
                name=f"{spec.page_type.title()} {i}",
                page_type=spec.page_type,
                status=status,
                published=_stamp(i) if status == "published" else None,
                updated=_stamp(i + 1),
                fields=_localised(store, _recipe_fields(i)),
            )
        )
    for i in range(spec.single_pages):
        slug = f"single-page-{i:04d}"
        store.put_page(
            PageRecord(
                slug=slug,
                name=f"Single page {i}",
                page_type=None,
                status="published",
                published=_stamp(i),
                updated=_stamp(i),
                fields=_localised(
                    store, {"headline": _words(5, i), "body": f"<p>{_words(20, i)}</p>"}
                ),
            )
        )
    if spec.collection_items:
        store.collections.setdefault(
            spec.collection, CollectionSchema(spec.collection, list(PRODUCT_FIELDS))
        )
        items = store.items.setdefault(spec.collection, {})
        for i in range(spec.collection_items):
            item_id = store.next_item_id()
            items[item_id] = CollectionItemRecord(
                id=item_id,
                status="published",
                fields=_localised(
                    store,
                    {
                        "name": f"Product {i}",
                        "sku": f"SKU-{i:06d}",
                        "price": 100 + i % 900,
                        "in_stock": i % 3 != 0,
                    },
                ),
            )
    store.changed()


def _recipe_fields(i: int) -> dict[str, Any]:
    return {
        "headline": f"Recipe {i}: {_words(3, i)}",
        "servings": 1 + i % 8,
        "hero_image": f"https://cdn.buttercms.com/recipe{i % 20}",
        "ingredients": [
            {"name": WORDS[(i + k) % len(WORDS)], "grams": 10 * (k + 1)} for k in range(3)
        ],
        "seo": {"title": f"Recipe {i}", "description": _words(8, i)},
        "sections": [
            {
                "type": "hero",
                "fields": {"headline": _words(4, i), "image": "https://cdn.buttercms.com/h"},
            },
            {"type": "steps", "fields": {"steps": [_words(6, i + k) for k in range(3)]}},
        ],
    }


def seeded_store(spec: SeedSpec | None = None, *, locales: tuple[str, ...] = ()) -> ContentStore:
    """A new store holding the recorded examples and `spec`'s generated content."""
    store = ContentStore(locales=locales)
    seed_examples(store)
    if spec is not None:
        seed_generated(store, spec)
    return store
