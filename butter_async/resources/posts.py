"""Blog posts: list with filters, get with neighbours, search."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigurationError
from ..models.blog import Post, PostDetail, PostSummary
from ..models.converter import structure
from ..pagination import MAX_PAGE_SIZE, AsyncPager, Cursor, PaginationMode
from ..writes import WriteResult, shows_scalars
from ._base import PublishStatus, Resource, check_status, envelope, require_text


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

    async def get(
        self, slug: str, *, preview: bool | None = None, locale: str | None = None
    ) -> PostDetail:
        """One post by slug, whatever its status (drafts too), with its neighbours.

        `preview` only changes which posts count as next and previous.
        """
        params = {"preview": 1 if preview else None, "locale": locale}
        payload = envelope(await self._transport.get(["posts", slug], params))
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

    async def create(
        self,
        slug: str,
        title: str,
        *,
        body: str | None = None,
        summary: str | None = None,
        status: PublishStatus = "draft",
        author_slug: str | None = None,
        author_email: str | None = None,
        categories: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        featured_image: str | None = None,
        featured_image_alt: str | None = None,
        seo_title: str | None = None,
        meta_description: str | None = None,
        published: datetime | str | None = None,
        upload_images_to_media_library: bool | None = None,
        check_first: bool = False,
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Create a blog post; the author (by slug or email) must exist.

        Categories and tags are names, created when missing. `published` back-dates the
        post (a date in the future would schedule it, which the Write API refuses).
        `check_first` looks for the post before sending (for resumed jobs); `verify`
        waits until it is readable.
        """
        self._transport.require_write_token()
        require_text(slug=slug, title=title)
        check_status(status)
        payload = post_body(
            title=title,
            body=body,
            summary=summary,
            status=status,
            author_slug=author_slug,
            author_email=author_email,
            categories=categories,
            tags=tags,
            featured_image=featured_image,
            featured_image_alt=featured_image_alt,
            seo_title=seo_title,
            meta_description=meta_description,
            published=published,
            upload_images_to_media_library=upload_images_to_media_library,
        )
        payload["slug"] = slug
        return await self._create(
            "post",
            slug,
            lambda: self._write("POST", ["posts"], payload),
            self._exists_probe(["posts", slug]),
            check_first=check_first,
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def update(
        self,
        slug: str,
        *,
        new_slug: str | None = None,
        title: str | None = None,
        body: str | None = None,
        summary: str | None = None,
        status: PublishStatus | None = None,
        author_slug: str | None = None,
        author_email: str | None = None,
        categories: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        featured_image: str | None = None,
        featured_image_alt: str | None = None,
        seo_title: str | None = None,
        meta_description: str | None = None,
        published: datetime | str | None = None,
        upload_images_to_media_library: bool | None = None,
        method: str = "PATCH",
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Partially update a post: only the arguments given are sent.

        `new_slug` renames the post (its old slug then answers 404); `verify` reads the
        post back under the slug it ends up with.
        """
        self._transport.require_write_token()
        require_text(slug=slug)
        if new_slug is not None:
            require_text(new_slug=new_slug)
        check_status(status)
        payload = post_body(
            title=title,
            body=body,
            summary=summary,
            status=status,
            author_slug=author_slug,
            author_email=author_email,
            categories=categories,
            tags=tags,
            featured_image=featured_image,
            featured_image_alt=featured_image_alt,
            seo_title=seo_title,
            meta_description=meta_description,
            published=published,
            upload_images_to_media_library=upload_images_to_media_library,
        )
        if new_slug is not None and new_slug != slug:
            payload["slug"] = new_slug
        final_slug = payload.get("slug", slug)
        return await self._update(
            "post",
            final_slug,
            method,
            ["posts", slug],
            payload,
            locale=None,
            shows=lambda read: shows_scalars(read.get("data"), payload),
            verify=verify,
            verify_timeout=verify_timeout,
            read_segments=["posts", final_slug],
        )

    async def delete(self, slug: str) -> WriteResult:
        """Delete a post by slug."""
        self._transport.require_write_token()
        require_text(slug=slug)
        return await self._delete("post", slug, ["posts", slug])


def post_body(
    *,
    author_slug: str | None,
    author_email: str | None,
    categories: Sequence[str] | None,
    tags: Sequence[str] | None,
    published: datetime | str | None,
    **scalars: str | bool | None,
) -> dict[str, Any]:
    """The Write API body of a post from the arguments that were given."""
    if author_slug and author_email:
        raise ConfigurationError("give the author by slug or by email, not both")
    payload: dict[str, Any] = {key: value for key, value in scalars.items() if value is not None}
    if author_slug:
        payload["author"] = {"slug": author_slug}
    elif author_email:
        payload["author"] = {"email": author_email}
    for key, names in (("categories", categories), ("tags", tags)):
        if names is None:
            continue
        if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
            raise ConfigurationError(f"{key} must be a list of non-empty names")
        payload[key] = list(names)
    if published is not None:
        payload["published"] = published_timestamp(published)
    return payload


def published_timestamp(published: datetime | str) -> str:
    """A post's `published` as ISO 8601 with a timezone, refusing dates in the future."""
    when: datetime | None = published if isinstance(published, datetime) else None
    if isinstance(published, str):
        try:
            when = datetime.fromisoformat(published)
        except ValueError:
            when = None
    if when is None or when.tzinfo is None:
        raise ConfigurationError(
            f"published must be an ISO 8601 date-time with a timezone, got {published!r}"
        )
    if when > datetime.now(UTC):
        raise ConfigurationError(
            "published is in the future: scheduling is not supported by the Write API"
        )
    return published if isinstance(published, str) else published.isoformat()
