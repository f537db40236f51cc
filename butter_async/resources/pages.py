"""Pages: single pages (`*`), pages of a page type, search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError, NotFoundError
from ..models.content import FieldsT, Page, with_fields
from ..pagination import MAX_PAGE_SIZE, AsyncPager, Cursor, PaginationMode
from ..transport import QueryValue
from ..writes import WriteResult, create_resolving, delete_resolving, exists, shows_scalars
from ._base import (
    PREVIEW,
    PublishStatus,
    Resource,
    check_method,
    check_status,
    read_params,
    require_text,
)


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

    async def create(
        self,
        page_type: str,
        slug: str,
        title: str,
        fields: Mapping[str, Any],
        *,
        status: PublishStatus = "draft",
        locale: str | None = None,
        check_first: bool = False,
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Create a page of `page_type`; every schema field key must be in `fields`.

        `fields` is one locale's fields (with `locale=`, or without localization) or a
        mapping of locale to fields. `check_first` looks for the page before sending
        (for resumed jobs). `verify` waits until the page is readable.
        """
        self._require_write_token()
        require_text(page_type=page_type, slug=slug, title=title)
        check_status(status)
        if not isinstance(fields, Mapping):
            raise ConfigurationError("fields must be a mapping")
        body = {
            "title": title,
            "slug": slug,
            "page_type": page_type,
            "status": status,
            "fields": dict(fields),
        }

        async def probe() -> bool:
            return await exists(lambda: self._transport.get(["pages", page_type, slug], PREVIEW))

        outcome, attempts, confirmed = await create_resolving(
            lambda: self._write("POST", ["pages"], body, locale=locale),
            probe,
            retry=self._transport.retry,
            check_first=check_first,
        )
        result = WriteResult(
            "page", slug, outcome, attempts, outcome == "created", confirmed, probe
        )
        return await self._settle(result, verify, verify_timeout)

    async def update(
        self,
        page_type: str,
        slug: str,
        *,
        fields: Mapping[str, Any] | None = None,
        status: PublishStatus | None = None,
        locale: str | None = None,
        method: str = "PATCH",
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Partially update a page (`page_type` may be `"*"`); PATCH and PUT behave alike.

        Title and slug cannot change; repeaters and component pickers are replaced whole,
        components are merged. `verify` reads `/pages/{page_type}/{slug}/`; the API serves
        only single pages under `*`, so give the page type to verify a typed page.
        """
        self._require_write_token()
        require_text(page_type=page_type, slug=slug)
        check_status(status)
        check_method(method)
        body: dict[str, Any] = {}
        if fields is not None:
            body["fields"] = dict(fields)
        if status is not None:
            body["status"] = status
        if not body:
            raise ConfigurationError("nothing to update: give fields= and/or status=")
        await self._write(method, ["pages", page_type, slug], body, locale=locale, idempotent=True)
        wanted = dict(fields or {})

        async def probe() -> bool:
            params = {**PREVIEW, "locale": locale}
            try:
                payload = await self._transport.get(["pages", page_type, slug], params)
            except NotFoundError:
                return False
            return shows_scalars((payload.get("data") or {}).get("fields"), wanted)

        result = WriteResult("page", slug, "updated", 1, visible=probe)
        return await self._settle(result, verify, verify_timeout)

    async def delete(self, slug: str, *, page_type: str = "*") -> WriteResult:
        """Delete a page by slug."""
        self._require_write_token()
        require_text(page_type=page_type, slug=slug)
        attempts, confirmed = await delete_resolving(
            lambda: self._write("DELETE", ["pages", page_type, slug]),
            retry=self._transport.retry,
        )

        async def gone() -> bool:
            read = ["pages", page_type, slug]
            return not await exists(lambda: self._transport.get(read, PREVIEW))

        return WriteResult("page", slug, "deleted", attempts, False, confirmed, gone)
