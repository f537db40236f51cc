"""Collections (`/content/`): stream one collection, fetch several, get one item."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigurationError, ResponseValidationError
from ..models.content import CollectionItem, FieldsT, with_fields
from ..models.converter import structure
from ..pagination import MAX_PAGE_SIZE, AsyncPager, Cursor, PaginationMode
from ..transport import QueryValue
from ._base import Resource, read_params


class CollectionsResource(Resource):
    """`butter.collections`: read collection items, structured into `CollectionItem[...]`."""

    def list(
        self,
        key: str,
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
    ) -> AsyncPager[CollectionItem[FieldsT]]:
        """Stream the items of the collection `key`."""
        params = read_params(
            preview=preview, locale=locale, levels=levels, fields=fields, order=order
        )

        def items_of_key(data: Any) -> Any:
            if not isinstance(data, dict) or key not in data:
                raise ResponseValidationError(f"collection response has no data for {key!r}")
            return data[key]

        return self._pager(
            ["content", key],
            params,
            with_fields(CollectionItem, fields_type),
            page_size=page_size,
            prefetch=prefetch,
            pagination=pagination,
            resume_from=resume_from,
            extract=items_of_key,
        )

    async def get_many(
        self,
        keys: Sequence[str],
        *,
        preview: bool | None = None,
        locale: str | None = None,
        levels: int | None = None,
    ) -> dict[str, builtins.list[CollectionItem]]:
        """All items of several collections in one call, keyed by collection."""
        if isinstance(keys, str) or not keys or not all(keys):
            raise ConfigurationError("keys must be a non-empty sequence of collection keys")
        if any("," in key for key in keys):
            raise ConfigurationError("collection keys must not contain ','")
        params = read_params(preview=preview, locale=locale, levels=levels, keys=",".join(keys))
        result: dict[str, builtins.list[CollectionItem]] = await self._get_data(
            ["content"], params, dict[str, builtins.list[CollectionItem]]
        )
        return result

    async def get_item(
        self,
        key: str,
        item_id: int,
        *,
        fields_type: type[FieldsT] | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        levels: int | None = None,
    ) -> CollectionItem[FieldsT]:
        """One item of the collection `key` by its numeric id."""
        params = read_params(preview=preview, locale=locale, levels=levels)
        payload = await self._transport.get(["content", key, int(item_id)], params)
        data = payload.get("data") if isinstance(payload, dict) else None
        # The item comes either bare or, like list responses, under its collection key.
        if isinstance(data, dict) and isinstance(data.get(key), list) and data[key]:
            data = data[key][0]
        item: CollectionItem[FieldsT] = structure(
            data,
            with_fields(CollectionItem, fields_type),
        )
        return item
