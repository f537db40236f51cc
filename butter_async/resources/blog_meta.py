"""Authors, categories and tags: small unpaginated lists with optional recent posts."""

from __future__ import annotations

from typing import Generic, TypeVar

from ..models.blog import Author, Category, Tag
from ._base import Resource

M = TypeVar("M", Author, Category, Tag)


class _BlogMetaResource(Resource, Generic[M]):
    _segment: str
    _model: type[M]

    async def list(self, *, include_recent_posts: bool = False) -> list[M]:
        """Every object, each with `recent_posts` when `include_recent_posts` is set."""
        params = {"include": "recent_posts" if include_recent_posts else None}
        items: list[M] = await self._get_data([self._segment], params, list[self._model])  # type: ignore[name-defined]
        return items

    async def get(self, slug: str, *, include_recent_posts: bool = False) -> M:
        """One object by slug."""
        params = {"include": "recent_posts" if include_recent_posts else None}
        item: M = await self._get_data([self._segment, slug], params, self._model)
        return item


class AuthorsResource(_BlogMetaResource[Author]):
    """`butter.authors`."""

    _segment = "authors"
    _model = Author


class CategoriesResource(_BlogMetaResource[Category]):
    """`butter.categories`."""

    _segment = "categories"
    _model = Category


class TagsResource(_BlogMetaResource[Tag]):
    """`butter.tags`."""

    _segment = "tags"
    _model = Tag
