"""Blog posts: list with filters, get with neighbours, search."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError, ResponseValidationError
from ..models.blog import Post, PostDetail, PostSummary
from ..models.converter import structure
from ..pagination import MAX_PAGE_SIZE, AsyncPager, Cursor, PaginationMode
from ._base import Resource


class PostsResource(Resource):
    """`butter.posts`: read blog posts."""

    def list(
        self,
        *,
        exclude_body: bool = False,
        author_slug: str | None = None,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        preview: bool | None = None,
        page_size: int = MAX_PAGE_SIZE,
        prefetch: int | None = None,
        pagination: PaginationMode = "page",
        resume_from: Cursor | None = None,
    ) -> AsyncPager[Post]:
        """Stream posts, newest first, optionally filtered by author, category or tag."""
        params = {
            "exclude_body": True if exclude_body else None,
            "author_slug": author_slug,
            "category_slug": category_slug,
            "tag_slug": tag_slug,
            "preview": 1 if preview else None,
        }
        return self._pager(
            ["posts"],
            params,
            Post,
            page_size=page_size,
            prefetch=prefetch,
            pagination=pagination,
            resume_from=resume_from,
        )

    async def get(self, slug: str, *, preview: bool | None = None) -> PostDetail:
        """One post by slug, with its next and previous posts."""
        payload = await self._transport.get(["posts", slug], {"preview": 1 if preview else None})
        if not isinstance(payload, dict):
            raise ResponseValidationError("post response is not a JSON object")
        meta: dict[str, Any] = payload.get("meta") or {}
        return PostDetail(
            post=structure(payload.get("data"), Post),
            next_post=structure(meta.get("next_post"), PostSummary | None),
            previous_post=structure(meta.get("previous_post"), PostSummary | None),
        )

    def search(
        self,
        query: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        prefetch: int | None = None,
        resume_from: Cursor | None = None,
    ) -> AsyncPager[Post]:
        """Stream the posts matching a full-text `query`."""
        if not query:
            raise ConfigurationError("search query must not be empty")
        return self._pager(
            ["posts", "search"],
            {"query": query},
            Post,
            page_size=page_size,
            prefetch=prefetch,
            pagination="page",
            resume_from=resume_from,
        )
