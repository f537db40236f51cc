"""Pages: single pages (`*`), pages of a page type, search."""

from __future__ import annotations

from collections.abc import Mapping

from ..models.content import FieldsT, Page, with_fields
from ..pagination import MAX_PAGE_SIZE, AsyncPager, Cursor, PaginationMode
from ..transport import QueryValue
from ._base import Resource, read_params


class PagesResource(Resource):
    """`butter.pages`: read pages, structured into `Page[fields_type]`."""

    def list(
        self,
        page_type: str = "*",
        *,
        fields_type: type[FieldsT] | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        levels: int | None = None,
        fields: Mapping[str, QueryValue] | None = None,
        order: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        prefetch: int | None = None,
        pagination: PaginationMode = "page",
        resume_from: Cursor | None = None,
    ) -> AsyncPager[Page[FieldsT]]:
        """Stream the pages of `page_type` (`"*"` for single pages)."""
        params = read_params(
            preview=preview, locale=locale, levels=levels, fields=fields, order=order
        )
        return self._pager(
            ["pages", page_type],
            params,
            with_fields(Page, fields_type),
            page_size=page_size,
            prefetch=prefetch,
            pagination=pagination,
            resume_from=resume_from,
        )

    async def get(
        self,
        page_type: str,
        slug: str,
        *,
        fields_type: type[FieldsT] | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        levels: int | None = None,
    ) -> Page[FieldsT]:
        """One page by page type (`"*"` for a single page) and slug."""
        params = read_params(preview=preview, locale=locale, levels=levels)
        page: Page[FieldsT] = await self._get_data(
            ["pages", page_type, slug],
            params,
            with_fields(Page, fields_type),
        )
        return page

    def search(
        self,
        query: str,
        *,
        page_type: str | None = None,
        fields_type: type[FieldsT] | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        levels: int | None = None,
        page_size: int = MAX_PAGE_SIZE,
        prefetch: int | None = None,
        resume_from: Cursor | None = None,
    ) -> AsyncPager[Page[FieldsT]]:
        """Stream the pages matching a full-text `query`, optionally of one page type."""
        params = read_params(
            preview=preview, locale=locale, levels=levels, query=query, page_type=page_type
        )
        return self._pager(
            ["pages", "search"],
            params,
            with_fields(Page, fields_type),
            page_size=page_size,
            prefetch=prefetch,
            pagination="page",
            resume_from=resume_from,
        )
