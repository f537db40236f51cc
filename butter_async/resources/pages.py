"""Pages: single pages (`*`), pages of a page type, search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import AttrsInstance
from typing_extensions import Unpack

from ..arguments import PublishStatus, check_method, check_status, is_mapping, require_text
from ..errors import ConfigurationError
from ..models.content import FieldsT, Page, with_fields
from ..models.typed_fields import write_fields, write_fields_or_none
from ..pagination import (
    AsyncPager,
    ListOptions,
    SearchOptions,
)
from ..transport import QueryValue
from ..writes import ReadBack, WriteCall, WriteResult, encode_body, shows_scalars
from ._base import SEARCH_KEYWORDS, Resource, read_params, update_body


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
        alt_media_text: bool | None = None,
        fields: Mapping[str, QueryValue] | None = None,
        order: str | None = None,
        **options: Unpack[ListOptions],
    ) -> AsyncPager[Page[FieldsT]]:
        """Stream the pages of `page_type` (`"*"` for single pages).

        `levels` (1-5) is the depth of references; `alt_media_text` returns media fields
        as `{"url", "alt"}` objects (type them as `Media` in a `fields_type`).
        """
        params = read_params(
            preview=preview,
            locale=locale,
            levels=levels,
            alt_media_text=alt_media_text,
            fields=fields,
            order=order,
        )
        return self._pager(
            ["pages", page_type],
            params,
            with_fields(Page, fields_type),
            options,
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
        alt_media_text: bool | None = None,
    ) -> Page[FieldsT]:
        """One page by page type and slug; `"*"` finds the slug whatever its type.

        Under `"*"` the API answers 403 (PermissionDeniedError) when pages of several
        types share the slug: give the page type then.
        """
        params = read_params(
            preview=preview, locale=locale, levels=levels, alt_media_text=alt_media_text
        )
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
        alt_media_text: bool | None = None,
        **options: Unpack[SearchOptions],
    ) -> AsyncPager[Page[FieldsT]]:
        """Stream the pages matching `query`, most relevant first.

        `page_type` limits the search to one page type; `"*"` to single pages.
        """
        if not isinstance(query, str) or not query.strip():
            raise ConfigurationError("search query must not be empty")
        params = read_params(
            preview=preview,
            locale=locale,
            levels=levels,
            alt_media_text=alt_media_text,
            query=query,
            page_type=page_type,
        )
        return self._pager(
            ["pages", "search"],
            params,
            with_fields(Page, fields_type),
            options,
            allowed=SEARCH_KEYWORDS,
            stable_order=False,  # ranked by relevance: no position is stable
        )

    async def create(
        self,
        page_type: str,
        slug: str,
        title: str,
        fields: Mapping[str, Any] | AttrsInstance,
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
        self._transport.session.require_write_token()
        call = page_create(
            page_type, slug, title, write_fields(fields), status=status, locale=locale
        )
        return await self._send(
            call, check_first=check_first, verify=verify, verify_timeout=verify_timeout
        )

    async def update(
        self,
        page_type: str,
        slug: str,
        *,
        fields: Mapping[str, Any] | AttrsInstance | None = None,
        status: PublishStatus | None = None,
        locale: str | None = None,
        method: str = "PATCH",
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Partially update a page; on pages PATCH and PUT behave alike.

        `page_type` may be `"*"`, which finds the slug whatever its type. Title and slug
        cannot change; repeaters and component pickers are replaced whole, components
        are merged. `verify` reads the page back at `/pages/{page_type}/{slug}/`.
        """
        self._transport.session.require_write_token()
        call = page_update(
            page_type,
            slug,
            fields=write_fields_or_none(fields),
            status=status,
            locale=locale,
            method=method,
        )
        wanted = (call.body or {}).get("fields", {})
        return await self._send(
            call,
            shows=lambda payload: shows_scalars((payload.get("data") or {}).get("fields"), wanted),
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def delete(self, slug: str, *, page_type: str = "*") -> WriteResult:
        """Delete a page by slug."""
        self._transport.session.require_write_token()
        return await self._send(page_delete(slug, page_type=page_type))


def page_create(
    page_type: str,
    slug: str,
    title: str,
    fields: Mapping[str, Any],
    *,
    status: PublishStatus = "draft",
    locale: str | None = None,
) -> WriteCall:
    """A page create, its arguments checked (ConfigurationError if not)."""
    require_text(page_type=page_type, slug=slug, title=title)
    check_status(status)
    if not is_mapping(fields):
        raise ConfigurationError("fields must be a mapping")
    body = {
        "title": title,
        "slug": slug,
        "page_type": page_type,
        "status": status,
        "fields": dict(fields),
    }
    return WriteCall(
        "page",
        slug,
        "POST",
        ("pages",),
        body,
        encode_body(body),
        locale,
        ReadBack(("pages", page_type, slug)),
    )


def page_update(
    page_type: str,
    slug: str,
    *,
    fields: Mapping[str, Any] | None = None,
    status: PublishStatus | None = None,
    locale: str | None = None,
    method: str = "PATCH",
) -> WriteCall:
    """A page update, its arguments checked (ConfigurationError if not)."""
    require_text(page_type=page_type, slug=slug)
    check_status(status)
    verb = check_method(method)
    body = update_body(fields, status)
    segments = ("pages", page_type, slug)
    return WriteCall("page", slug, verb, segments, body, encode_body(body), locale)


def page_delete(slug: str, *, page_type: str = "*") -> WriteCall:
    """A page delete, its arguments checked (ConfigurationError if not)."""
    require_text(page_type=page_type, slug=slug)
    return WriteCall("page", slug, "DELETE", ("pages", page_type, slug))
