"""The one cattrs converter that turns API JSON into models."""

from __future__ import annotations

import re
from collections import abc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from cattrs import BaseConverter, BaseValidationError, transform_error
from cattrs.cols import list_structure_factory
from cattrs.preconf.orjson import make_converter

from ..errors import ResponseValidationError
from .blog import Author, Category, Post, Tag
from .content import CollectionItem, Page
from .typed_fields import register as register_typed_fields

T = TypeVar("T")
Label = TypeVar("Label", Tag, Category)

# Detailed validation wraps every attribute in try/except; `structure()` below reports
# failures as ResponseValidationError either way, and the plain mode is about 3x faster.
converter = make_converter(forbid_extra_keys=False, detailed_validation=False)


def _structure_datetime(value: Any, _: Any = None) -> datetime:
    """ISO 8601 to an aware datetime; a naive timestamp is taken as UTC, as the API means."""
    if value.__class__ is str:
        parsed = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


converter.register_structure_hook(datetime, _structure_datetime)
# User field classes may type free-form values as `object`: keep them as parsed.
converter.register_structure_hook_func(lambda cls: cls is object, lambda value, _: value)


def _structure_text(value: Any, _: Any = None) -> str:
    """A string; a number is taken as its text, anything else (null included) is an error."""
    if value.__class__ is str:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


converter.register_structure_hook(str, _structure_text)


def _is_list(cls: Any) -> bool:
    return cls is list or get_origin(cls) in (list, abc.Sequence, abc.MutableSequence)


def _list_hook(cls: Any, conv: BaseConverter) -> Callable[[Any, Any], list[Any]]:
    """cattrs' own list structuring, refusing text and objects: iterated, a string would
    become a list of its characters and an object a list of its keys."""
    items = list_structure_factory(cls, conv)

    def structure(value: Any, _type: Any) -> list[Any]:
        if isinstance(value, str | bytes | dict):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        structured: list[Any] = items(value, _type)
        return structured

    return structure


converter.register_structure_hook_factory(_is_list, _list_hook)


def _structure_optional_text(value: Any, _: Any = None) -> str | None:
    return value if value is None or value.__class__ is str else _structure_text(value)


def _structure_optional_datetime(value: Any, _: Any = None) -> datetime | None:
    return None if value is None else _structure_datetime(value)


# Hand-written hooks for the blog models: every post listing structures thousands of
# them, and these take about two thirds the time of cattrs' generated hooks. Arguments
# are positional, in field order, because keywords cost a third more;
# tests/test_models.py checks every field against cattrs' generated hooks.


def _structure_author(value: Any, _: Any = None) -> Author:
    get = value.get
    return Author(
        _structure_text(value["slug"]),
        _structure_optional_text(get("first_name")),
        _structure_optional_text(get("last_name")),
        _structure_optional_text(get("email")),
        _structure_optional_text(get("bio")),
        _structure_optional_text(get("title")),
        _structure_optional_text(get("linkedin_url")),
        _structure_optional_text(get("facebook_url")),
        _structure_optional_text(get("instagram_url")),
        _structure_optional_text(get("pinterest_url")),
        _structure_optional_text(get("twitter_handle")),
        _structure_optional_text(get("profile_image")),
        _structure_recent_posts(get("recent_posts")),
    )


def _structure_label(value: Any, cls: type[Label]) -> Label:
    """A Tag or a Category, which have the same fields."""
    return cls(
        _structure_text(value["slug"]),
        _structure_optional_text(value.get("name")),
        _structure_recent_posts(value.get("recent_posts")),
    )


def _structure_post(value: Any, _: Any = None) -> Post:
    get = value.get
    author, categories, tags, rank = get("author"), get("categories"), get("tags"), get("rank")
    return Post(
        _structure_text(value["slug"]),
        _structure_optional_text(get("title")),
        _structure_optional_text(get("status")),
        _structure_optional_text(get("url")),
        _structure_optional_datetime(get("created")),
        _structure_optional_datetime(get("updated")),
        _structure_optional_datetime(get("published")),
        _structure_optional_datetime(get("deleted")),
        _structure_optional_text(get("body")),
        _structure_optional_text(get("summary")),
        _structure_optional_text(get("seo_title")),
        _structure_optional_text(get("meta_description")),
        _structure_optional_text(get("featured_image")),
        _structure_optional_text(get("featured_image_alt")),
        None if author is None else _structure_author(author),
        _structure_labels(categories, Category),
        _structure_labels(tags, Tag),
        None if rank is None else float(rank),
    )


def _structure_labels(values: Any, cls: type[Label]) -> list[Label]:
    return [] if values is None else [_structure_label(value, cls) for value in values]


def _structure_recent_posts(value: Any) -> list[Post] | None:
    return None if value is None else [_structure_post(post) for post in value]


converter.register_structure_hook(Author, _structure_author)
converter.register_structure_hook(Category, _structure_label)
converter.register_structure_hook(Tag, _structure_label)
converter.register_structure_hook(Post, _structure_post)


def _structure_fields(value: Any, _: Any) -> dict[str, Any]:
    """Page and item `fields` as a mapping: a copy of the JSON object (its keys are strings),
    without a function call per key and value as cattrs' generated dict hook makes."""
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, not {type(value).__name__}")
    return dict(value)


converter.register_structure_hook_func(lambda cls: cls == dict[str, Any], _structure_fields)


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


def _item_parts(value: Any) -> tuple[int, dict[str, Any]]:
    """A collection item's id and its fields (everything but `meta`)."""
    if not isinstance(value, dict) or not isinstance(value.get("meta"), dict):
        raise ValueError("a collection item needs a 'meta' object with its 'id'")
    return int(value["meta"]["id"]), {key: item for key, item in value.items() if key != "meta"}


def _fields_type(cls: Any) -> Any:
    args = get_args(cls)
    return args[0] if args else dict[str, Any]


@lru_cache(maxsize=4096)
def _timestamp(text: str) -> datetime:
    return _structure_datetime(text)


def _page_time(value: Any) -> datetime | None:
    """A page's timestamp; memoised, as a cached page's are read again on every view."""
    if value.__class__ is str:
        return _timestamp(value)
    return None if value is None else _structure_datetime(value)


def _is_page(cls: Any) -> bool:
    return cls is Page or get_origin(cls) is Page


def _page_hook(cls: Any) -> Callable[[Any, Any], Page[Any]]:
    """Page and Page[X], hand-written like the blog hooks: a cached page view structures
    one on every hit. X's hook is looked up once."""
    fields_type = _fields_type(cls)
    fields_hook = converter.get_structure_hook(fields_type)

    def structure(value: Any, _: Any) -> Page[Any]:
        get = value.get
        return Page(
            _structure_text(value["slug"]),
            fields_hook(value["fields"], fields_type),
            _structure_optional_text(get("name")),
            _structure_optional_text(get("page_type")),
            _page_time(get("published")),
            _page_time(get("updated")),
            _page_time(get("scheduled")),
            _structure_optional_text(get("status")),
        )

    return structure


converter.register_structure_hook_factory(_is_page, _page_hook)


def _collection_item_hook(cls: Any) -> Callable[[Any, Any], CollectionItem[Any]]:
    fields_type = _fields_type(cls)

    def structure(value: Any, _: Any) -> CollectionItem[Any]:
        item_id, fields = _item_parts(value)
        return CollectionItem(id=item_id, fields=converter.structure(fields, fields_type))

    return structure


converter.register_structure_hook_factory(_is_collection_item, _collection_item_hook)


# Only used once a payload has failed: cattrs' detailed validation names the field path.
_diagnostic = make_converter(forbid_extra_keys=False, detailed_validation=True)
_diagnostic.register_structure_hook(datetime, _structure_datetime)
_diagnostic.register_structure_hook(str, _structure_text)
_diagnostic.register_structure_hook_func(lambda cls: cls is object, lambda value, _: value)
_diagnostic.register_structure_hook_factory(_is_list, _list_hook)


def _diagnostic_item_hook(cls: Any) -> Callable[[Any, Any], CollectionItem[Any]]:
    fields_type = _fields_type(cls)

    def structure(value: Any, _: Any) -> CollectionItem[Any]:
        item_id, fields = _item_parts(value)
        try:
            structured = _diagnostic.structure(fields, fields_type)
        except Exception as error:
            # Name the path under `fields`, where the user's own schema lives.
            raise ValueError("; ".join(_paths(error, "fields"))) from None
        return CollectionItem(id=item_id, fields=structured)

    return structure


_diagnostic.register_structure_hook_factory(_is_collection_item, _diagnostic_item_hook)

_SHOWN = 60  # characters of an offending value quoted in an error


#: Masks secrets in text quoted from a response (a client's tokens); applied before any
#: cut, so that no piece of a secret survives it.
Redact = Callable[[str], str]


def _unchanged(text: str) -> str:
    return text


def _describe(error: BaseException, _type: Any = None) -> str:
    if isinstance(error, KeyError):
        return "required field missing"
    text = str(error) or type(error).__name__
    return text if len(text) <= _SHOWN * 2 else text[: _SHOWN * 2] + "..."


# One step of a path as cattrs' transform_error writes it: `.name`, `[3]` or `['key']`.
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def _value_at(value: Any, path: str) -> tuple[bool, Any]:
    """The value found at a path relative to its root, if the payload has one there."""
    for name, index, key in _STEP.findall(path):
        if index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif not index and isinstance(value, dict) and (name or key) in value:
            value = value[name or key]
        else:
            return False, None
    return True, value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _paths(error: BaseException, root: str, value: Any = None) -> list[str]:
    """`path: problem (got value)` for each failing field, e.g. `data[3].published: ...`."""
    if not isinstance(error, BaseValidationError):
        return [f"{root}: {_describe(error)}"]
    messages: list[str] = transform_error(error, path=root, format_exception=_describe)
    found = []
    for message in messages:
        problem, _, path = message.rpartition(" @ ")
        present, offending = _value_at(value, path[len(root) :])
        found.append(f"{path}: {problem}" + (f" (got {_shown(offending)})" if present else ""))
    return found


def _masked(value: Any, redact: Redact) -> Any:
    """A copy of a JSON value with `redact` applied to every string in it, so that an
    explanation quotes (and shortens) only masked text."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _masked(item, redact) for k, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, redact) for item in value]
    return value


#: Failing paths an explanation names before it counts the rest.
SHOWN_PATHS = 5


def explain(value: Any, cls: Any, root: str = "$", redact: Redact = _unchanged) -> str:
    """Why `value` does not fit `cls`: the first few failing fields' paths under `root`,
    the problem and the offending value (shortened), then how many more there are. A
    list is explained item by item, so the cost stays linear in its length. `redact`
    masks secrets in the value before anything of it is quoted or shortened."""
    if redact is not _unchanged:
        value = _masked(value, redact)
    if _is_list(cls) and isinstance(value, list):
        return _explain_items(value, (get_args(cls) or (Any,))[0], root)
    try:
        _diagnostic.structure(value, cls)
    except Exception as error:
        return _joined(_paths(error, root, value), "failing field")
    return f"{root}: does not fit {getattr(cls, '__name__', cls)}"


def _explain_items(items: list[Any], item_type: Any, root: str) -> str:
    shown: list[str] = []
    failing = 0
    for position, item in enumerate(items):
        try:
            converter.structure(item, item_type)
        except Exception:
            failing += 1
            if len(shown) < SHOWN_PATHS:
                shown.append(explain(item, item_type, f"{root}[{position}]"))
    if not failing:
        return f"{root}: does not fit list[{getattr(item_type, '__name__', item_type)}]"
    text = "; ".join(shown)
    if failing > len(shown):
        text += f"; and {failing - len(shown):,} more failing item(s)"
    return text


def _joined(paths: list[str], what: str) -> str:
    text = "; ".join(paths[:SHOWN_PATHS])
    if len(paths) > SHOWN_PATHS:
        text += f"; and {len(paths) - SHOWN_PATHS:,} more {what}(s)"
    return text


def structure(value: Any, cls: type[T] | Any, root: str = "$", redact: Redact = _unchanged) -> T:
    """Structure `value` into `cls`, raising `ResponseValidationError` if it does not fit:
    it names the model, each failing field's path under `root` and the offending value.

    The error is raised on its own, not chained to the one cattrs or a hook raised:
    those quote response values. `redact` masks secrets in each quoted value before it
    is shortened.
    """
    try:
        result: T = converter.structure(value, cls)
    except Exception:
        # A payload that does not fit fails in the hooks as TypeError, KeyError, ValueError
        # or AttributeError, or in cattrs as a BaseValidationError: one error type for all.
        name = getattr(cls, "__name__", str(cls))
        failure = ResponseValidationError(
            f"response does not fit {name}: {explain(value, cls, root, redact)}"
        )
    else:
        return result
    raise failure


register_typed_fields(converter)
register_typed_fields(_diagnostic)
