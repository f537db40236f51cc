"""Collections (`/content/`): stream one collection, fetch several, get one item."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from attrs import AttrsInstance
from typing_extensions import Unpack

from ..arguments import PublishStatus, check_status, is_mapping, require_text
from ..errors import ConfigurationError, ResponseValidationError
from ..models.content import CollectionItem, FieldsT, with_fields
from ..models.decoding import envelope
from ..models.typed_fields import write_fields, write_fields_or_none
from ..pagination import (
    AsyncPager,
    ListOptions,
)
from ..transport import QueryValue
from ..writes import ReadBack, WriteCall, WriteResult, encode_body, shows_scalars, shows_whole_item
from ._base import Resource, read_params, update_body


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
        alt_media_text: bool | None = None,
        fields: Mapping[str, QueryValue] | None = None,
        order: str | None = None,
        **options: Unpack[ListOptions],
    ) -> AsyncPager[CollectionItem[FieldsT]]:
        """Stream the items of the collection `key`.

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

        def items_of_key(data: Any) -> Any:
            if not isinstance(data, dict) or key not in data:
                raise ResponseValidationError(f"collection response has no data for {key!r}")
            return data[key]

        return self._pager(
            ["content", key],
            params,
            with_fields(CollectionItem, fields_type),
            options,
            extract=items_of_key,
        )

    async def get_many(
        self,
        keys: Sequence[str],
        *,
        preview: bool | None = None,
        locale: str | None = None,
        levels: int | None = None,
        alt_media_text: bool | None = None,
    ) -> dict[str, builtins.list[CollectionItem]]:
        """All items of several collections in one call, keyed by collection."""
        if isinstance(keys, str) or not keys or not all(keys):
            raise ConfigurationError("keys must be a non-empty sequence of collection keys")
        if any("," in key for key in keys):
            raise ConfigurationError("collection keys must not contain ','")
        params = read_params(
            preview=preview,
            locale=locale,
            levels=levels,
            alt_media_text=alt_media_text,
            keys=",".join(keys),
        )
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
        alt_media_text: bool | None = None,
    ) -> CollectionItem[FieldsT]:
        """One item of the collection `key` by its numeric id."""
        params = read_params(
            preview=preview, locale=locale, levels=levels, alt_media_text=alt_media_text
        )
        payload = envelope(await self._transport.get(["content", key, int(item_id)], params))
        item: CollectionItem[FieldsT] = self._structure(
            _item_data(payload, key),
            with_fields(CollectionItem, fields_type),
        )
        return item

    async def create_item(
        self,
        key: str,
        fields: Mapping[str, Any] | AttrsInstance,
        *,
        status: PublishStatus = "draft",
        locale: str | None = None,
        match_on: str | None = None,
        check_first: bool = False,
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Create an item in the collection `key`.

        `fields` is one locale's fields (with `locale=`, or without localization) or a
        mapping of locale to fields. Items have no slug: `match_on` names a field that
        identifies an item (a SKU, say), and an item with the same value is looked for
        first, so running an import again creates nothing twice (`already_existed`).
        The API does not return the new item's id; an ambiguous failure is resolved by
        looking the item up (by `match_on`, else by its scalar field values).
        """
        self._transport.session.require_write_token()
        call = item_create(
            key, write_fields(fields), status=status, locale=locale, match_on=match_on
        )
        return await self._send(
            call, check_first=check_first, verify=verify, verify_timeout=verify_timeout
        )

    async def update_item(
        self,
        key: str,
        item_id: int,
        fields: Mapping[str, Any] | AttrsInstance | None = None,
        *,
        status: PublishStatus | None = None,
        locale: str | None = None,
        method: Literal["PATCH"] = "PATCH",
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Partially update an item (PATCH): fields and status left out keep their values.

        PUT is not offered here because on collection items it replaces the whole item:
        a partial PUT would clear every field left out. Use `replace_item` for that.
        """
        if method != "PATCH":
            raise ConfigurationError(
                "update_item() sends PATCH only: PUT replaces the whole collection item and "
                "clears the fields it leaves out; use replace_item() with every field"
            )
        self._transport.session.require_write_token()
        call = item_update(key, item_id, write_fields_or_none(fields), status=status, locale=locale)
        wanted = (call.body or {}).get("fields", {})
        return await self._send(
            call,
            shows=lambda payload: shows_scalars(_item_data(payload, key), wanted),
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def replace_item(
        self,
        key: str,
        item_id: int,
        fields: Mapping[str, Any] | AttrsInstance,
        *,
        status: PublishStatus = "draft",
        locale: str | None = None,
        verify: bool = False,
        verify_timeout: float = 30.0,
    ) -> WriteResult:
        """Replace an item whole (PUT): give every field; the API clears those left out.

        As with a create, `status` defaults to draft. `verify` waits until the item
        reads back with exactly these values and every other field empty.
        """
        self._transport.session.require_write_token()
        call = item_replace(key, item_id, write_fields(fields), status=status, locale=locale)
        wanted = (call.body or {})["fields"]
        return await self._send(
            call,
            shows=lambda payload: shows_whole_item(_item_data(payload, key), wanted),
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def delete_item(self, key: str, item_id: int) -> WriteResult:
        """Delete an item by collection key and id."""
        self._transport.session.require_write_token()
        return await self._send(item_delete(key, item_id))


def item_create(
    key: str,
    fields: Mapping[str, Any],
    *,
    status: PublishStatus = "draft",
    locale: str | None = None,
    match_on: str | None = None,
) -> WriteCall:
    """An item create, its arguments checked (a bad one raises ConfigurationError); with `match_on`
    the item is looked for by that field before it is sent."""
    require_text(key=key)
    check_status(status)
    if not is_mapping(fields) or not fields:
        raise ConfigurationError("fields must be a non-empty mapping")
    if match_on is None:
        read_back = _item_lookup(key, fields, locale)
    else:
        first_locale, flat = one_locale(fields, locale)
        value = flat.get(match_on)
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            raise ConfigurationError(
                f"{match_on}: is required to match existing items (match_on), as a "
                f"non-empty text or number; got {value!r}"
            )
        read_back = _item_lookup(key, {match_on: value}, first_locale)
    body = {"key": key, "status": status, "fields": [dict(fields)]}
    return WriteCall(
        "collection_item",
        key,
        "POST",
        ("content",),
        body,
        encode_body(body),
        locale,
        read_back,
        look_first=match_on is not None,
    )


def item_update(
    key: str,
    item_id: int,
    fields: Mapping[str, Any] | None = None,
    *,
    status: PublishStatus | None = None,
    locale: str | None = None,
) -> WriteCall:
    """An item's partial update (PATCH), its arguments checked (ConfigurationError if not)."""
    segments = _item_at(key, item_id)
    check_status(status)
    body = update_body(fields, status)
    name = f"{key}/{segments[2]}"
    return WriteCall("collection_item", name, "PATCH", segments, body, encode_body(body), locale)


def item_replace(
    key: str,
    item_id: int,
    fields: Mapping[str, Any],
    *,
    status: PublishStatus = "draft",
    locale: str | None = None,
) -> WriteCall:
    """An item's whole replacement (PUT), its arguments checked (ConfigurationError if not)."""
    segments = _item_at(key, item_id)
    check_status(status)
    if not is_mapping(fields) or not fields:
        raise ConfigurationError(
            "replace_item() needs the complete item: every field, since a PUT clears "
            "the fields it leaves out"
        )
    body = {"status": status, "fields": dict(fields)}
    name = f"{key}/{segments[2]}"
    return WriteCall("collection_item", name, "PUT", segments, body, encode_body(body), locale)


def item_delete(key: str, item_id: int) -> WriteCall:
    """An item delete, its arguments checked (ConfigurationError if not)."""
    segments = _item_at(key, item_id)
    return WriteCall("collection_item", f"{key}/{segments[2]}", "DELETE", segments)


def _item_at(key: str, item_id: object) -> tuple[str, str, int]:
    """Where an item is written: its collection key and id, both checked."""
    require_text(key=key)
    try:
        number = int(item_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        number = -1
    if isinstance(item_id, bool) or number < 0:
        raise ConfigurationError(f"item_id must be a non-negative integer, got {item_id!r}")
    return ("content", key, number)


def _item_lookup(key: str, fields: Mapping[str, Any], locale: str | None) -> ReadBack | None:
    """How an item is found by its scalar field values, if it has any."""
    locale, fields = one_locale(fields, locale)
    scalars = {
        k: v for k, v in fields.items() if k and isinstance(v, str | int | float | bool) and v != ""
    }
    if not scalars:
        return None
    params = read_params(preview=True, locale=locale, fields=scalars, page=1, page_size=1)
    return ReadBack(("content", key), params, listed=True)


def one_locale(
    fields: Mapping[str, Any], locale: str | None
) -> tuple[str | None, Mapping[str, Any]]:
    """(locale, its fields): the first locale's of locale-keyed fields, else as given."""
    if locale is None and fields and all(isinstance(v, Mapping) for v in fields.values()):
        first, flat = next(iter(fields.items()))
        return str(first), flat
    return locale, fields


def _item_data(payload: dict[str, Any], key: str) -> Any:
    """An item detail's fields, whether served bare or under its collection key."""
    data = payload.get("data")
    if isinstance(data, dict) and isinstance(data.get(key), list) and data[key]:
        return data[key][0]
    return data
