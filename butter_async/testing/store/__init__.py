"""The emulator's in-memory content store and the API's read and write rules over it, one
module per family (`pages`, `blog`, `collections`) over the shared `base` and `records`."""

from .blog import BlogStore
from .collections import CollectionsStore
from .pages import PagesStore
from .records import (
    FIELD_KINDS,
    JSON,
    MAX_LEVELS,
    MIN_LEVELS,
    NOT_FOUND,
    PAGE_NOT_FOUND,
    Change,
    CollectionItemRecord,
    CollectionSchema,
    FieldKind,
    Listing,
    PageRecord,
    PageType,
    PostRecord,
    SchemaFields,
    StoreError,
    paginate,
    schema_kinds,
)


class ContentStore(PagesStore, BlogStore, CollectionsStore):
    """All content of one emulated account, with read queries and validated writes."""


__all__ = [
    "FIELD_KINDS",
    "JSON",
    "MAX_LEVELS",
    "MIN_LEVELS",
    "NOT_FOUND",
    "PAGE_NOT_FOUND",
    "Change",
    "CollectionItemRecord",
    "CollectionSchema",
    "ContentStore",
    "FieldKind",
    "Listing",
    "PageRecord",
    "PageType",
    "PostRecord",
    "SchemaFields",
    "StoreError",
    "paginate",
    "schema_kinds",
]
