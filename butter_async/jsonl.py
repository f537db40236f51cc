"""JSON Lines import files: reading them and turning each line into a write operation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson

from .arguments import PublishStatus
from .errors import JsonLinesError
from .operations import CreateItem, CreatePage, CreatePost, Operation
from .resources.posts import PostFields

ImportKind = Literal["pages", "posts", "collection"]


def read_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line, read lazily."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                raise JsonLinesError(f"{path}:{number}: not valid JSON ({error})") from None
            if not isinstance(value, dict):
                raise JsonLinesError(f"{path}:{number}: expected a JSON object")
            yield number, value


def _status(value: object, number: int) -> PublishStatus:
    if value == "draft" or value == "published":
        return value
    raise JsonLinesError(f"line {number}: field 'status' must be 'draft' or 'published'")


def _text(line: Mapping[str, Any], number: int, *names: str, default: str | None = None) -> str:
    for name in names:
        value = line.get(name)
        if isinstance(value, str) and value:
            return value
    if default:
        return default
    raise JsonLinesError(f"line {number}: missing field {names[0]!r}")


def _names(terms: Any) -> list[str]:
    """Category or tag names from names or exported `{name, slug}` objects."""
    names = []
    for term in terms or []:
        name = term.get("name") or term.get("slug") if isinstance(term, dict) else term
        names.append(str(name))
    return names


def operation_from_line(
    kind: ImportKind, line: Mapping[str, Any], defaults: Mapping[str, str | None], number: int
) -> Operation:
    """The create operation a line describes (lines as written by `export`)."""
    status = _status(line.get("status") or defaults.get("status") or "draft", number)
    if kind == "pages":
        fields = line.get("fields")
        if not isinstance(fields, dict):
            raise JsonLinesError(f"line {number}: field 'fields' must be an object")
        return CreatePage(
            page_type=_text(line, number, "page_type", default=defaults.get("page_type")),
            slug=_text(line, number, "slug"),
            title=_text(line, number, "title", "name"),
            fields=fields,
            status=status,
            locale=line.get("locale"),
        )
    if kind == "posts":
        author = line.get("author") or {}
        post_fields = PostFields(
            body=line.get("body"),
            summary=line.get("summary"),
            featured_image=line.get("featured_image"),
            featured_image_alt=line.get("featured_image_alt"),
            seo_title=line.get("seo_title"),
            meta_description=line.get("meta_description"),
            published=line.get("published"),
            status=status,
            categories=_names(line.get("categories")),
            tags=_names(line.get("tags")),
        )
        if isinstance(author, dict) and author.get("slug"):
            post_fields["author_slug"] = author["slug"]
        elif isinstance(author, dict) and author.get("email"):
            post_fields["author_email"] = author["email"]
        return CreatePost(_text(line, number, "slug"), _text(line, number, "title"), post_fields)
    collection = defaults.get("collection")
    if not collection:
        raise JsonLinesError("a collection import needs the collection key")
    fields = line.get("fields")
    if fields is None:
        fields = {key: value for key, value in line.items() if key not in ("id", "status")}
    if not isinstance(fields, dict) or not fields:
        raise JsonLinesError(f"line {number}: field 'fields' must be a non-empty object")
    ref = line.get("id")
    return CreateItem(collection, fields, status=status, ref=None if ref is None else str(ref))
