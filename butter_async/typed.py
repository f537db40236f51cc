"""Typed access to one account's page types, single pages and collections: what a module
written by `butter-async types generate` builds its `Content` from. Every read structures
`fields` into the generated class, so `page.fields.servings` is an `int` to mypy with no
cast; writes take an instance of that class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypedDict, TypeVar

from attrs import AttrsInstance
from typing_extensions import Unpack

from .arguments import PublishStatus
from .client import ButterClient
from .models.content import CollectionItem, Page
from .pagination import AsyncPager, ListOptions, SearchOptions
from .transport import QueryValue
from .writes import WriteResult

F = TypeVar("F", bound=AttrsInstance)


class ReadOptions(TypedDict, total=False):
    """What every read takes, as the client's own reads do."""

    preview: bool | None
    locale: str | None
    levels: int | None
    alt_media_text: bool | None


class ListReadOptions(ReadOptions, ListOptions, total=False):
    """A list's reads: filters on fields, an order, and how it streams."""

    fields: Mapping[str, QueryValue] | None
    order: str | None


class SearchReadOptions(ReadOptions, SearchOptions, total=False):
    """A search's reads and how it streams."""


class WriteOptions(TypedDict, total=False):
    """What a typed create or update passes on to the client's write."""

    status: PublishStatus
    locale: str | None
    verify: bool
    verify_timeout: float


class PageType(Generic[F]):
    """The pages of one page type, their fields structured into `fields_type`."""

    def __init__(self, butter: ButterClient, page_type: str, fields_type: type[F]) -> None:
        self.butter = butter
        self.page_type = page_type
        self.fields_type = fields_type

    async def get(self, slug: str, **options: Unpack[ReadOptions]) -> Page[F]:
        """One page by slug."""
        return await self.butter.pages.get(
            self.page_type, slug, fields_type=self.fields_type, **options
        )

    def list(self, **options: Unpack[ListReadOptions]) -> AsyncPager[Page[F]]:
        """Stream every page of the type."""
        return self.butter.pages.list(self.page_type, fields_type=self.fields_type, **options)

    def search(self, query: str, **options: Unpack[SearchReadOptions]) -> AsyncPager[Page[F]]:
        """Stream the pages of the type that match `query`, most relevant first."""
        return self.butter.pages.search(
            query, page_type=self.page_type, fields_type=self.fields_type, **options
        )

    async def create(
        self, slug: str, title: str, fields: F, **options: Unpack[WriteOptions]
    ) -> WriteResult:
        """Create a page of the type from an instance of its class (status draft)."""
        return await self.butter.pages.create(self.page_type, slug, title, fields, **options)

    async def update(
        self, slug: str, fields: F | Mapping[str, Any], **options: Unpack[WriteOptions]
    ) -> WriteResult:
        """Update a page: every field of an instance, or the keys of a mapping."""
        return await self.butter.pages.update(self.page_type, slug, fields=fields, **options)


class SinglePage(Generic[F]):
    """One single page (page type `*`), its fields structured into `fields_type`."""

    def __init__(self, butter: ButterClient, slug: str, fields_type: type[F]) -> None:
        self.butter = butter
        self.slug = slug
        self.fields_type = fields_type

    async def get(self, **options: Unpack[ReadOptions]) -> Page[F]:
        """The page."""
        return await self.butter.pages.get("*", self.slug, fields_type=self.fields_type, **options)

    async def update(
        self, fields: F | Mapping[str, Any], **options: Unpack[WriteOptions]
    ) -> WriteResult:
        """Update the page: every field of an instance, or the keys of a mapping."""
        return await self.butter.pages.update("*", self.slug, fields=fields, **options)


class CollectionType(Generic[F]):
    """The items of one collection, their fields structured into `fields_type`."""

    def __init__(self, butter: ButterClient, key: str, fields_type: type[F]) -> None:
        self.butter = butter
        self.key = key
        self.fields_type = fields_type

    async def get(self, item_id: int, **options: Unpack[ReadOptions]) -> CollectionItem[F]:
        """One item by id."""
        return await self.butter.collections.get_item(
            self.key, item_id, fields_type=self.fields_type, **options
        )

    def list(self, **options: Unpack[ListReadOptions]) -> AsyncPager[CollectionItem[F]]:
        """Stream every item of the collection."""
        return self.butter.collections.list(self.key, fields_type=self.fields_type, **options)

    async def create(self, fields: F, **options: Unpack[WriteOptions]) -> WriteResult:
        """Create an item from an instance of its class (status draft)."""
        return await self.butter.collections.create_item(self.key, fields, **options)

    async def update(
        self, item_id: int, fields: F | Mapping[str, Any], **options: Unpack[WriteOptions]
    ) -> WriteResult:
        """Update an item: every field of an instance, or the keys of a mapping."""
        return await self.butter.collections.update_item(self.key, item_id, fields, **options)
