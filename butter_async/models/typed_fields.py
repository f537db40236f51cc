"""How generated (and hand-written) field classes structure: a field whose API key is not
a Python name carries it in its metadata, a component picker is a union tagged by each
component's `type`, and a media field reads as its URL or, with `alt_media_text`, `Media`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs
from cattrs import BaseConverter
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .content import CollectionItem, Media, Page

#: The attrs metadata key holding a field's API key when its Python name differs from it.
FIELD_KEY = "butter"


def api_keys(cls: type[Any]) -> dict[str, str]:
    """Python attribute name -> API key, for the attributes whose names differ."""
    return {a.name: a.metadata[FIELD_KEY] for a in attrs.fields(cls) if FIELD_KEY in a.metadata}


def _renames(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and bool(api_keys(cls))


def _members(cls: Any) -> tuple[Any, ...]:
    if get_origin(cls) not in (Union, UnionType):
        return ()
    return get_args(cls)


@cache
def _tags(cls: Any) -> dict[str, type[Any]] | None:
    """`type` value -> class, when every member of the union `cls` (None aside) is an attrs
    class whose `type` is one Literal string."""
    tags: dict[str, type[Any]] = {}
    for member in _members(cls):
        if member is NoneType:
            continue
        if not (isinstance(member, type) and attrs.has(member)):
            return None
        tag = get_type_hints(member).get("type")
        if get_origin(tag) is not Literal or len(get_args(tag)) != 1:
            return None
        tags[str(get_args(tag)[0])] = member
    return tags or None


def _is_media(cls: Any) -> bool:
    return set(_members(cls)) - {NoneType} == {str, Media}


def register(converter: BaseConverter) -> None:
    """Teach `converter` renamed keys, tagged component pickers and media fields."""

    def renamed(cls: Any) -> Callable[[Any, Any], Any]:
        keys: dict[str, Any] = {name: override(rename=key) for name, key in api_keys(cls).items()}
        detailed = getattr(converter, "detailed_validation", False)
        return make_dict_structure_fn(cls, converter, _cattrs_detailed_validation=detailed, **keys)

    def renamed_out(cls: Any) -> Callable[[Any], Any]:
        keys: dict[str, Any] = {name: override(rename=key) for name, key in api_keys(cls).items()}
        return make_dict_unstructure_fn(cls, converter, **keys)

    def tagged(cls: Any) -> Callable[[Any, Any], Any]:
        tags = _tags(cls) or {}
        optional = NoneType in _members(cls)

        def structure(value: Any, _: Any) -> Any:
            if value is None and optional:
                return None
            tag = value.get("type") if isinstance(value, dict) else None
            member = tags.get(str(tag))
            if member is None:
                known = ", ".join(sorted(tags))
                raise ValueError(f"component type {tag!r} is not one of: {known}")
            return converter.structure(value, member)

        return structure

    def media(cls: Any) -> Callable[[Any, Any], Any]:
        optional = NoneType in _members(cls)

        def structure(value: Any, _: Any) -> Any:
            if value is None and optional:
                return None
            if isinstance(value, str):
                return value
            if isinstance(value, dict):
                return converter.structure(value, Media)
            raise TypeError(f"expected a media URL or object, got {type(value).__name__}")

        return structure

    converter.register_structure_hook_factory(_renames, renamed)
    converter.register_unstructure_hook_factory(_renames, renamed_out)
    converter.register_structure_hook_factory(lambda cls: _tags(cls) is not None, tagged)
    converter.register_structure_hook_factory(_is_media, media)


def write_value(value: Any) -> Any:
    """A read value as the Write API takes it: a referenced page as its slug, a referenced
    item as its id, `Media` as its URL, a date as ISO 8601, field classes as objects."""
    if isinstance(value, Page):
        return value.slug
    if isinstance(value, CollectionItem):
        return value.id
    if isinstance(value, Media):
        return value.url
    if isinstance(value, datetime):
        return value.isoformat()
    if attrs.has(type(value)):
        keys = api_keys(type(value))
        return {
            keys.get(field.name, field.name): write_value(getattr(value, field.name))
            for field in attrs.fields(type(value))
        }
    if isinstance(value, list | tuple):
        return [write_value(entry) for entry in value]
    if isinstance(value, dict):
        return {key: write_value(entry) for key, entry in value.items()}
    return value


def write_fields(fields: Mapping[str, Any] | attrs.AttrsInstance) -> Mapping[str, Any]:
    """Fields to write: a mapping as given, an instance of a field class as its object."""
    if attrs.has(type(fields)):
        written: dict[str, Any] = write_value(fields)
        return written
    return fields  # type: ignore[return-value]


def write_fields_or_none(
    fields: Mapping[str, Any] | attrs.AttrsInstance | None,
) -> Mapping[str, Any] | None:
    """`write_fields`, keeping None (an update that changes no field)."""
    return None if fields is None else write_fields(fields)
