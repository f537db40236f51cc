"""The one cattrs converter that turns API JSON into models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
from cattrs import BaseValidationError
from cattrs.preconf.orjson import make_converter

from ..errors import ResponseValidationError
from .blog import Author, Category, Post, Tag
from .content import CollectionItem

T = TypeVar("T")

# Detailed validation wraps every attribute in try/except; `structure()` below reports
# failures as ResponseValidationError either way, and the plain mode is about 3x faster.
converter = make_converter(forbid_extra_keys=False, detailed_validation=False)

for _cls in (Author, Category, Tag, Post):
    attrs.resolve_types(_cls)


def _structure_datetime(value: Any, _: type) -> datetime:
    """ISO 8601 to an aware datetime; a naive timestamp is taken as UTC, as the API means."""
    if type(value) is str:
        parsed = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


converter.register_structure_hook(datetime, _structure_datetime)
# User field classes may type free-form values as `object`: keep them as parsed.
converter.register_structure_hook_func(lambda cls: cls is object, lambda value, _: value)


def _structure_text(value: Any, _: Any) -> str:
    return value if type(value) is str else str(value)


converter.register_structure_hook(str, _structure_text)


def _structure_optional_text(value: Any, _: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _structure_optional_datetime(value: Any, _: Any) -> datetime | None:
    return None if value is None else _structure_datetime(value, datetime)


def _is_optional(cls: Any) -> bool:
    args = get_args(cls)
    return get_origin(cls) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _optional_hook(cls: Any) -> Callable[[Any, Any], Any]:
    """`X | None` with X's hook looked up once, not on every value (the hot path)."""
    inner = next(arg for arg in get_args(cls) if arg is not type(None))
    if inner is str:
        return _structure_optional_text
    if inner is datetime:
        return _structure_optional_datetime
    inner_hook = converter.get_structure_hook(inner)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner_hook(value, inner)

    return structure


converter.register_structure_hook_factory(_is_optional, _optional_hook)


def _is_collection_item(cls: Any) -> bool:
    return cls is CollectionItem or get_origin(cls) is CollectionItem


def _collection_item_hook(cls: Any) -> Callable[[Any, Any], CollectionItem[Any]]:
    args = get_args(cls)
    fields_type: Any = args[0] if args else dict[str, Any]

    def structure(value: Any, _: Any) -> CollectionItem[Any]:
        if not isinstance(value, dict) or not isinstance(value.get("meta"), dict):
            raise ValueError("a collection item needs a 'meta' object with its 'id'")
        fields = {key: item for key, item in value.items() if key != "meta"}
        return CollectionItem(
            id=int(value["meta"]["id"]),
            fields=converter.structure(fields, fields_type),
        )

    return structure


converter.register_structure_hook_factory(_is_collection_item, _collection_item_hook)


def structure(value: Any, cls: type[T] | Any) -> T:
    """Structure `value` into `cls`, raising `ResponseValidationError` if it does not fit."""
    try:
        result: T = converter.structure(value, cls)
    except (BaseValidationError, Exception) as error:  # any shape mismatch, one error type
        name = getattr(cls, "__name__", str(cls))
        raise ResponseValidationError(f"response does not fit {name}: {error!r}") from error
    return result
