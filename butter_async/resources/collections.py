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
from ..writes import Probe, WriteResult
from ._base import (
    PublishStatus,
    Resource,
    check_status,
    envelope,
    read_params,
    require_text,
)


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
        payload = envelope(await self._transport.get(["content", key, int(item_id)], params))
        data = payload.get("data")
        # The item comes either bare or, like list responses, under its collection key.
        if isinstance(data, dict) and isinstance(data.get(key), list) and data[key]:
            data = data[key][0]
        item: CollectionItem[FieldsT] = structure(
            data,
            with_fields(CollectionItem, fields_type),
        )
        return item

    async def create_item(
        self,
        key: str,
        fields: Mapping[str, Any],
        *,
        status: PublishStatus = "draft",
        locale: str | None = None,
        check_first: bool = False,
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Create an item in the collection `key`.

        `fields` is one locale's fields (with `locale=`, or without localization) or a
        mapping of locale to fields. The API does not return the new item's id; an
        ambiguous failure is resolved by looking the item up by its scalar field values.
        """
        self._transport.require_write_token()
        require_text(key=key)
        check_status(status)
        if not isinstance(fields, Mapping) or not fields:
            raise ConfigurationError("fields must be a non-empty mapping")
        body = {"key": key, "status": status, "fields": [dict(fields)]}
        return await self._create(
            "collection_item",
            key,
            lambda: self._write("POST", ["content"], body, locale=locale),
            self._item_probe(key, fields, locale),
            check_first=check_first,
            verify=verify,
            verify_timeout=verify_timeout,
        )

    def _item_probe(self, key: str, fields: Mapping[str, Any], locale: str | None) -> Probe | None:
        """A read-back check for an item by its scalar field values, if it has any."""
        if locale is None and fields and all(isinstance(v, Mapping) for v in fields.values()):
            locale, fields = next(iter(fields.items()))
        scalars = {
            k: v for k, v in fields.items() if isinstance(v, str | int | float | bool) and v != ""
        }
        if not scalars:
            return None
        params = read_params(preview=True, locale=locale, fields=scalars, page=1, page_size=1)

        async def probe() -> bool:
            payload = envelope(await self._transport.get(["content", key], params))
            return bool((payload.get("meta") or {}).get("count"))

        return probe

    async def update_item(
        self,
        key: str,
        item_id: int,
        fields: Mapping[str, Any] | None = None,
        *,
        status: PublishStatus | None = None,
        locale: str | None = None,
        method: str = "PATCH",
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Partially update an item; PATCH and PUT both send only what is given."""
        self._transport.require_write_token()
        require_text(key=key)
        check_status(status)
        body: dict[str, Any] = {}
        if fields is not None:
            body["fields"] = dict(fields)
        if status is not None:
            body["status"] = status
        return await self._update(
            "collection_item",
            f"{key}/{item_id}",
            method,
            ["content", key, int(item_id)],
            body,
            locale=locale,
            shown=lambda payload: payload.get("data"),
            wanted=dict(fields or {}),
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def delete_item(self, key: str, item_id: int) -> WriteResult:
        """Delete an item by collection key and id."""
        self._transport.require_write_token()
        require_text(key=key)
        return await self._delete(
            "collection_item", f"{key}/{item_id}", ["content", key, int(item_id)]
        )
