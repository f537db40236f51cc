"""Streaming list walks: `AsyncPager` fetches ahead and yields in order (`pager`), over
pages and cursors (`pages`), and keeps its place when the list moves (`shifts`)."""

from .pager import AsyncPager
from .pages import (
    DEFAULT_PREFETCH,
    MAX_PAGE_SIZE,
    Cursor,
    InvalidItem,
    ListOptions,
    PageReader,
    PaginationMode,
    RawItem,
    ResultPage,
    SearchOptions,
    item_identity,
)

__all__ = [
    "DEFAULT_PREFETCH",
    "MAX_PAGE_SIZE",
    "AsyncPager",
    "Cursor",
    "InvalidItem",
    "ListOptions",
    "PageReader",
    "PaginationMode",
    "RawItem",
    "ResultPage",
    "SearchOptions",
    "item_identity",
]
