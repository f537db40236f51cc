"""Cache tags: what each read holds, and what each webhook event or write makes stale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..webhooks import WebhookEvent


#: Every entry carries it, so renewing it clears the whole cache.
EVERYTHING = "all"
#: Page lists of every type (renewed when a page event does not name its type).
PAGE_LISTS = "pages:lists"
PAGE_SEARCH = "pages:search"
#: Post lists and searches, feeds, authors/categories/tags (they embed recent posts), and
#: post details (they embed their neighbours' titles, and a renamed post's old slug must
#: stop answering).
BLOG = "blog"
#: Every page and collection read: reference fields embed other pages and items in them.
REFERENCES = "references"


def read_tags(segments: Sequence[str | int], query: Mapping[str, str]) -> tuple[str, ...]:
    """The tags of the read of `segments` with `query`: what content its answer holds."""
    parts = [str(segment) for segment in segments]
    family = parts[0] if parts else ""
    tags = [EVERYTHING]
    if family in ("pages", "content"):
        tags.append(REFERENCES)
    if family == "pages":
        if parts[1:] == ["search"]:
            tags.append(PAGE_SEARCH)
        elif len(parts) == 2:
            tags += [PAGE_LISTS, f"pages:{parts[1]}"]
        elif len(parts) >= 3:
            tags.append(f"page:{parts[2]}")
    elif family in ("posts", "feeds", "authors", "categories", "tags"):
        tags.append(BLOG)
        if family == "posts" and len(parts) == 2 and parts[1] != "search":
            tags.append(f"post:{parts[1]}")
    elif family == "content":
        keys = parts[1:2] or query.get("keys", "").split(",")
        tags += [f"collection:{key.partition('[')[0]}" for key in keys if key]
    return tuple(tags)


def page_tags(slug: str, page_type: str | None, *, references: bool) -> tuple[str, ...]:
    """What a change to one page makes stale; `page_type` None: its type is not known."""
    lists = f"pages:{page_type}" if page_type else PAGE_LISTS
    return (f"page:{slug}", lists, PAGE_SEARCH, *((REFERENCES,) if references else ()))


def post_tags(slug: str) -> tuple[str, ...]:
    """What a change to one post makes stale: it, and every post detail and list."""
    return (f"post:{slug}", BLOG)


def collection_tags(key: str, *, references: bool) -> tuple[str, ...]:
    """What a change to an item of collection `key` makes stale."""
    return (f"collection:{key}", *((REFERENCES,) if references else ()))


def event_tags(event: WebhookEvent, *, references: bool = True) -> tuple[str, ...]:
    """The tags a webhook event makes stale (an event this version does not know: all).

    With `references`, a page or collection item event also makes every page and
    collection read stale, as any of them may embed the changed one through a reference
    field; pass False for content without reference fields.
    """
    # The event types load with the webhook parser, which made `event`; not with the cache.
    from ..webhooks import CollectionItemEvent, MediaEvent, PageEvent, PostEvent

    data = event.data
    if isinstance(data, PageEvent):
        return page_tags(data.slug, data.page_type, references=references)
    if isinstance(data, PostEvent):
        return post_tags(data.slug)
    if isinstance(data, CollectionItemEvent):
        return collection_tags(data.key, references=references)
    if isinstance(data, MediaEvent):
        return ()  # content refers to media by URL; a media upload changes no read
    return (EVERYTHING,)  # an UnknownEvent: what it changed cannot be told


def write_tags(segments: Sequence[str | int], body: Any, *, references: bool) -> tuple[str, ...]:
    """The tags a Write API request to `segments` with `body` makes stale, as the webhook
    for it would; `body` names what a create makes (its slug, page type or collection)."""
    parts = [str(segment) for segment in segments]
    sent = body if isinstance(body, Mapping) else {}
    family = parts[0] if parts else ""
    if family == "pages":
        slug = parts[2] if len(parts) >= 3 else str(sent.get("slug", ""))
        page_type = parts[1] if len(parts) >= 3 else sent.get("page_type")
        return page_tags(slug, None if page_type == "*" else page_type, references=references)
    if family == "posts":  # a rename needs no tag of its own: BLOG covers every post
        return post_tags(parts[1] if len(parts) >= 2 else str(sent.get("slug", "")))
    if family == "content":
        key = parts[1] if len(parts) >= 2 else str(sent.get("key", ""))
        return collection_tags(key, references=references)
    return (EVERYTHING,)
