"""RSS, Atom and sitemap feeds, returned as XML text."""

from __future__ import annotations

from typing import Literal

from ..errors import ResponseValidationError
from ..models.decoding import envelope
from ._base import Resource

FeedKind = Literal["rss", "atom", "sitemap"]


class FeedsResource(Resource):
    """`butter.feeds`: the blog's syndication feeds and the sitemap."""

    async def get(
        self,
        kind: FeedKind,
        *,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        locale: str | None = None,
    ) -> str:
        """The XML of the feed `kind`, optionally filtered by category, tag or locale."""
        params = {"category_slug": category_slug, "tag_slug": tag_slug, "locale": locale}
        payload = envelope(await self._transport.get(["feeds", kind], params))
        data = payload.get("data")
        if not isinstance(data, str):
            raise ResponseValidationError(f"{kind} feed response has no XML text in 'data'")
        return data

    async def rss(
        self,
        *,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        locale: str | None = None,
    ) -> str:
        """The RSS 2.0 feed."""
        return await self.get("rss", category_slug=category_slug, tag_slug=tag_slug, locale=locale)

    async def atom(
        self,
        *,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        locale: str | None = None,
    ) -> str:
        """The Atom feed."""
        return await self.get("atom", category_slug=category_slug, tag_slug=tag_slug, locale=locale)

    async def sitemap(
        self,
        *,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        locale: str | None = None,
    ) -> str:
        """The sitemap XML."""
        return await self.get(
            "sitemap", category_slug=category_slug, tag_slug=tag_slug, locale=locale
        )
