"""Cache tags: what each read holds, and what each webhook event makes stale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..webhooks import (
    CollectionItemEvent,
    MediaEvent,
    PageEvent,
    PostEvent,
    WebhookEvent,
)

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


def event_tags(event: WebhookEvent, *, references: bool = True) -> tuple[str, ...]:
    """The tags a webhook event makes stale (an event this version does not know: all).

    With `references`, a page or collection item event also makes every page and
    collection read stale, as any of them may embed the changed one through a reference
    field; pass False for content without reference fields.
    """
    data = event.data
    also = (REFERENCES,) if references else ()
    if isinstance(data, PageEvent):
        lists = f"pages:{data.page_type}" if data.page_type else PAGE_LISTS
        return (f"page:{data.slug}", lists, PAGE_SEARCH, *also)
    if isinstance(data, PostEvent):
        return (f"post:{data.slug}", BLOG)
    if isinstance(data, CollectionItemEvent):
        return (f"collection:{data.key}", *also)
    if isinstance(data, MediaEvent):
        return ()  # content refers to media by URL; a media upload changes no read
    return (EVERYTHING,)  # an UnknownEvent: what it changed cannot be told
