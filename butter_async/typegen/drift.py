"""`types check`: walk every page's and item's raw fields against the generated classes
and name each place they part (`recipe/thai-soup: fields.servings: expected int, got
'two'`): a value of another type, a required field missing, a field the class lacks."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType, NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs

from ..client import ButterClient
from ..errors import ConfigurationError
from ..models.content import CollectionItem, Media, Page
from ..models.typed_fields import api_keys
from ..typed import CollectionType, PageType, SinglePage

_SHOWN = 40


def load_module(path: Path) -> ModuleType:
    """Import a generated module from its file."""
    name = f"_butter_types_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # attrs and typing resolve the classes' annotations here
    spec.loader.exec_module(module)
    if not hasattr(module, "Content"):
        raise ConfigurationError(f"{path}: no Content class (not written by types generate?)")
    return module


async def drifts(module: ModuleType, butter: ButterClient) -> AsyncIterator[str]:
    """One line per place where the account's content and the module's classes part."""
    content = module.Content(butter)
    for access in vars(content).values():
        if isinstance(access, PageType):
            async for page in butter.pages.list(access.page_type, preview=True):
                where = f"{access.page_type}/{page.slug}"
                for line in walk(page.fields, access.fields_type, "fields"):
                    yield f"{where}: {line}"
        elif isinstance(access, SinglePage):
            page = await butter.pages.get("*", access.slug, preview=True)
            for line in walk(page.fields, access.fields_type, "fields"):
                yield f"*/{access.slug}: {line}"
        elif isinstance(access, CollectionType):
            async for item in butter.collections.list(access.key, preview=True):
                for line in walk(item.fields, access.fields_type, "fields"):
                    yield f"{access.key}/{item.id}: {line}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _name(kind: Any) -> str:
    if get_origin(kind) in (Union, UnionType):
        return " | ".join(_name(arg) for arg in get_args(kind))
    if kind is NoneType:
        return "None"
    return getattr(kind, "__name__", None) or str(kind).replace("typing.", "")


def walk(value: Any, kind: Any, path: str) -> Iterator[str]:
    """`path: problem` for each place `value` does not fit `kind`."""
    origin, args = get_origin(kind), get_args(kind)
    if kind is object or kind is Any:
        return
    if value is None and origin not in (Union, UnionType):
        yield f"{path}: null where {_name(kind)} is required"
        return
    if origin in (Union, UnionType):
        yield from _walk_union(value, kind, path)
    elif origin is Literal:
        if value not in args:
            yield f"{path}: expected one of {', '.join(map(repr, args))}, got {_shown(value)}"
    elif origin is list:
        if not isinstance(value, list):
            yield f"{path}: expected a list, got {_shown(value)}"
            return
        for index, entry in enumerate(value):
            yield from walk(entry, args[0] if args else Any, f"{path}[{index}]")
    elif origin is dict or kind is dict:
        if not isinstance(value, dict):
            yield f"{path}: expected an object, got {_shown(value)}"
    elif origin is Page:
        yield from _walk_page(value, args[0] if args else Any, path)
    elif origin is CollectionItem:
        if not isinstance(value, dict) or not isinstance(value.get("meta"), dict):
            yield f"{path}: expected a collection item, got {_shown(value)}"
            return
        fields = {key: entry for key, entry in value.items() if key != "meta"}
        yield from walk(fields, args[0] if args else Any, path)
    elif isinstance(kind, type) and attrs.has(kind):
        yield from _walk_class(value, kind, path)
    elif not _fits(value, kind):
        yield f"{path}: expected {_name(kind)}, got {_shown(value)}"


def _walk_page(value: Any, fields_type: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict) or not isinstance(value.get("fields"), dict):
        yield f"{path}: expected a page, got {_shown(value)}"
        return
    yield from walk(value["fields"], fields_type, f"{path}.fields")


def _walk_union(value: Any, kind: Any, path: str) -> Iterator[str]:
    members = get_args(kind)
    if value is None:
        if NoneType not in members:
            yield f"{path}: null where {_name(kind)} is required"
        return
    tags = {tag: member for member in members if (tag := _tag(member)) is not None}
    if tags and isinstance(value, dict):
        member = tags.get(str(value.get("type")))
        if member is None:
            yield f"{path}.type: {value.get('type')!r} is not one of {', '.join(sorted(tags))}"
            return
        yield from walk(value, member, path)
        return
    for member in members:
        if member is not NoneType and not any(walk(value, member, path)):
            return
    yield f"{path}: expected {_name(kind)}, got {_shown(value)}"


def _tag(member: Any) -> str | None:
    if not (isinstance(member, type) and attrs.has(member)):
        return None
    tag = get_type_hints(member).get("type")
    return str(get_args(tag)[0]) if get_origin(tag) is Literal else None


def _walk_class(value: Any, cls: type[Any], path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{path}: expected an object ({cls.__name__}), got {_shown(value)}"
        return
    keys = api_keys(cls)
    hints = get_type_hints(cls)
    known = set()
    for field in attrs.fields(cls):
        key = keys.get(field.name, field.name)
        known.add(key)
        optional = field.default is None
        if key not in value:
            if not optional:
                yield f"{path}.{key}: required field missing"
            continue
        yield from walk(value[key], hints[field.name], f"{path}.{key}")
    for key in sorted(set(value) - known):
        yield f"{path}.{key}: a field {cls.__name__} lacks (got {_shown(value[key])})"


def _fits(value: Any, kind: Any) -> bool:
    """Whether a plain value fits a plain type as the converter reads it."""
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if kind is datetime:
        return isinstance(value, str) and _parses(value)
    if kind is Media:
        return isinstance(value, dict) and isinstance(value.get("url"), str)
    if kind is NoneType:
        return value is None
    return True


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
