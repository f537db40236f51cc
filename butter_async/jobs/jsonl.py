"""JSON Lines import files: reading them and turning each line into a write operation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from ..arguments import PublishStatus
from ..errors import JsonLinesError
from ..operations import CreateItem, CreatePage, CreatePost, Operation
from ..resources.posts import POST_TEXT_KEYS, PostFields

ImportKind = Literal["pages", "posts", "collection"]


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | JsonLinesError]]:
    """(line number, object) for every non-blank line, read lazily; a line that is not a
    JSON object comes with the JsonLinesError saying why (`FILE:LINE: problem`)."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json_object(raw)
            except JsonLinesError as error:
                yield number, JsonLinesError(f"{path}:{number}: {error}")


def read_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line, read lazily; raises JsonLinesError
    at the first line that is not a JSON object."""
    for number, value in json_lines(path):
        if isinstance(value, JsonLinesError):
            raise value
        yield number, value


#: orjson reads an integer beyond 64 bits as a float, and JSON cannot hold more digits
#: in one without them: a line with such a run of digits is read again exactly.
_LONG_DIGITS = re.compile(rb"\d{19,}")
_INT_RANGE = range(-(2**63), 2**64)


def json_object(raw: bytes) -> dict[str, Any]:
    """One line as a JSON object, integers exact or refused; JsonLinesError says why not."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise JsonLinesError(f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise JsonLinesError(f"expected a JSON object, got {type(value).__name__}")
    if _LONG_DIGITS.search(raw):
        _refuse_inexact_integers(json.loads(raw), "")
    return value


def _refuse_inexact_integers(value: object, where: str) -> None:
    """Refuse an integer that would not pass through unchanged (it would become a float),
    naming its field, rather than change the value silently."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and value not in _INT_RANGE:
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise JsonLinesError(
            f"{where or 'the line'}: the integer {shown} does not fit in 64 bits and would "
            "not be sent exactly; write it as a string"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_inexact_integers(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _refuse_inexact_integers(item, f"{where}[{position}]")


_SLUG = re.compile(r"[A-Za-z0-9_-]+")


def _invalid(field: str, message: str) -> JsonLinesError:
    return JsonLinesError(f"{field}: {message}")


def _status(value: object) -> PublishStatus:
    if value == "draft" or value == "published":
        return value
    raise _invalid("status", f"must be 'draft' or 'published', got {_shown(value)}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(line: Mapping[str, Any], *names: str, default: str | None = None) -> str:
    """The first of `names` the line has, as a non-empty string."""
    for name in names:
        if name in line and line[name] is not None:
            value = line[name]
            if not isinstance(value, str) or not value.strip():
                raise _invalid(name, f"must be a non-empty string, got {_shown(value)}")
            return value
    if default:
        return default
    raise _invalid(names[0], "is required")


def _slug(line: Mapping[str, Any]) -> str:
    slug = _text(line, "slug")
    if not _SLUG.fullmatch(slug):
        raise _invalid("slug", f"may hold only letters, digits, '-' and '_', got {_shown(slug)}")
    return slug


def _names(line: Mapping[str, Any], field: str) -> list[str]:
    """Category or tag names, given as names or as exported `{name, slug}` objects."""
    terms = line.get(field)
    if terms is None:
        return []
    if not isinstance(terms, list):
        raise _invalid(field, f"must be a list of names, got {_shown(terms)}")
    names = []
    for term in terms:
        name = term.get("name") or term.get("slug") if isinstance(term, dict) else term
        if not isinstance(name, str) or not name.strip():
            raise _invalid(field, f"must be a list of names, got an item {_shown(term)}")
        names.append(name)
    return names


def _published(value: object) -> str | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise _invalid(
            "published", f"must be an ISO 8601 date-time with a timezone, got {_shown(value)}"
        )
    return str(value)


def _author(line: Mapping[str, Any]) -> dict[str, str]:
    author = line.get("author")
    if author is None:
        return {}
    if not isinstance(author, dict):
        raise _invalid("author", f"must be an object with 'slug' or 'email', got {_shown(author)}")
    for key in ("slug", "email"):
        if isinstance(author.get(key), str) and author[key]:
            return {f"author_{key}": author[key]}
    raise _invalid("author", "needs a non-empty 'slug' or 'email'")


def operation_from_line(
    kind: ImportKind, line: Mapping[str, Any], defaults: Mapping[str, str | None], number: int
) -> Operation:
    """The create operation a line describes (lines as written by `export`).

    A line that does not fit raises JsonLinesError as `field: problem`.
    """
    status = _status(line.get("status") or defaults.get("status") or "draft")
    if kind == "pages":
        fields = line.get("fields")
        if not isinstance(fields, dict):
            raise _invalid("fields", f"must be an object, got {_shown(fields)}")
        locale = line.get("locale")
        if locale is not None and (not isinstance(locale, str) or not locale):
            raise _invalid("locale", f"must be a locale's api slug, got {_shown(locale)}")
        return CreatePage(
            page_type=_text(line, "page_type", default=defaults.get("page_type")),
            slug=_slug(line),
            title=_text(line, "title", "name"),
            fields=written_fields(fields),
            status=status,
            locale=locale,
        )
    if kind == "posts":
        for field in POST_TEXT_KEYS:
            if line.get(field) is not None and not isinstance(line[field], str):
                raise _invalid(field, f"must be a string, got {_shown(line[field])}")
        post_fields = PostFields(
            body=line.get("body"),
            summary=line.get("summary"),
            featured_image=line.get("featured_image"),
            featured_image_alt=line.get("featured_image_alt"),
            seo_title=line.get("seo_title"),
            meta_description=line.get("meta_description"),
            published=_published(line.get("published")),
            status=status,
            categories=_names(line, "categories"),
            tags=_names(line, "tags"),
            **_author(line),  # type: ignore[typeddict-item]
        )
        return CreatePost(_slug(line), _text(line, "title"), post_fields)
    collection = defaults.get("collection")
    if not collection:
        raise JsonLinesError("a collection import needs the collection key")
    fields = line.get("fields")
    if fields is None:
        fields = {key: value for key, value in line.items() if key not in ("id", "status")}
    if not isinstance(fields, dict) or not fields:
        raise _invalid("fields", f"must be a non-empty object, got {_shown(fields)}")
    ref = line.get("id")
    return CreateItem(
        collection,
        fields,
        status=status,
        ref=None if ref is None else str(ref),
        match_on=defaults.get("match_on"),
    )


def written_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Page fields as the Write API takes them: component pickers read as
    `[{"type": t, "fields": {...}}]` are written as `[{t: {...}}]` (pages-write docs),
    in one locale's fields or in each locale's of locale-keyed fields."""
    return {
        key: {name: _picker_as_written(inner) for name, inner in value.items()}
        if isinstance(value, dict)
        else _picker_as_written(value)
        for key, value in fields.items()
    }


def _picker_as_written(value: Any) -> Any:
    if (
        isinstance(value, list)
        and value
        and all(isinstance(entry, dict) and set(entry) == {"type", "fields"} for entry in value)
    ):
        return [{entry["type"]: entry["fields"]} for entry in value]
    return value
