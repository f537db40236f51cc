"""What a list walk deals in: pages of items, the cursor it resumes from, and items
that did not fit their model."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, Literal, TypedDict, TypeVar

import attrs

from ..errors import ConfigurationError
from ..models.meta import ListMeta

T = TypeVar("T")
PaginationMode = Literal["page", "offset"]
MAX_PAGE_SIZE = 100
DEFAULT_PREFETCH = 32
RawItem = dict[str, Any]
"""An item as the API sent it, which list calls yield with `raw=True`."""


def item_identity(item: Any) -> Hashable:
    """What tells one item of a list from another: a slug (posts, pages) or a collection
    item's id; None when the item has neither."""
    if isinstance(item, dict):
        meta = item.get("meta")
        found = item.get("slug") or (meta.get("id") if isinstance(meta, dict) else None)
    else:
        found = getattr(item, "slug", None) or getattr(item, "id", None)
    return found if isinstance(found, str | int) else None


@attrs.frozen
class Cursor:
    """Where a walk resumes: the page (or offset) holding the next item, minus `skip` items."""

    page: int | None = None
    offset: int | None = None
    skip: int = 0

    def __attrs_post_init__(self) -> None:
        if (self.page is None) == (self.offset is None):
            raise ConfigurationError("a Cursor needs exactly one of page= or offset=")
        if (self.page is not None and self.page < 1) or (self.offset or 0) < 0 or self.skip < 0:
            raise ConfigurationError(f"invalid cursor {self!r}")


@attrs.frozen
class InvalidItem:
    """An item of a list answer that did not fit its model, handed to `on_invalid_item`.

    `raw` is the item as the API sent it; `error` names its position, its slug or id and
    the failing field paths.
    """

    raw: object
    error: BaseException


@attrs.frozen
class ResultPage(Generic[T]):
    """One page of results with its metadata and position (page number or offset).

    `start` is the index within its page of the first item: 0, except for the page a walk
    read again after the list moved, which begins after the last item already yielded.
    """

    items: list[T]
    meta: ListMeta
    position: int
    start: int = 0


#: What fetching a page gives: a function that reads the page from its answer. A walk
#: calls it only when the consumer reaches the page, so the window holds compact answer
#: bodies and the items yielded die young (cheap for the garbage collector).
PageReader = Callable[[], ResultPage[T]]


class SearchOptions(TypedDict, total=False):
    """How a search streams: keywords every search takes (`page_size` up to 100,
    `prefetch` pages in flight, `resume_from` a cursor, `on_invalid_item` to skip items
    that do not fit their model instead of raising)."""

    page_size: int
    prefetch: int | None
    resume_from: Cursor | None
    on_invalid_item: Callable[[InvalidItem], None] | None


class ListOptions(SearchOptions, total=False):
    """How a list streams: a search's keywords, and `pagination` ("page" or "offset")."""

    pagination: PaginationMode
