"""An account's content schema as the emulator declares it, inferred from what reads return.

ButterCMS has no schema endpoint, so the kind of each field (text, number, media,
reference, repeater, component, component picker) is told from its values across every
page of a page type or item of a collection. The result is the structure that
`Emulator(page_types=..., collections=...)` and `butter-async emulator --schema` take.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import orjson

from .client import ButterClient

#: The kinds the emulator knows, from the most specific evidence to the least.
_KIND_ORDER = ("component_picker", "reference", "repeater", "component", "media", "number")
_MEDIA_HOSTS = ("cdn.buttercms.com", "/media/")
_MEDIA_ENDINGS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".mp4", ".pdf")


def value_kind(value: Any) -> str | None:
    """The field kind one value shows, or None when it shows none (null, "", [])."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "text"  # a checkbox: the emulator keeps it as given
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        lowered = value.lower()
        is_url = lowered.startswith(("http://", "https://"))
        media = is_url and (
            any(host in lowered for host in _MEDIA_HOSTS)
            or lowered.split("?")[0].endswith(_MEDIA_ENDINGS)
        )
        return "media" if media else "text"
    if isinstance(value, Mapping):
        if set(value) == {"url", "alt"}:
            return "media"  # alt_media_text=1
        return "reference" if _is_reference(value) else "component"
    if isinstance(value, list):
        objects = [item for item in value if isinstance(item, Mapping)]
        if not objects:
            return "text"
        if all(set(item) == {"type", "fields"} for item in objects):
            return "component_picker"
        if all(_is_reference(item) for item in objects):
            return "reference"
        return "repeater"
    return "text"


def _is_reference(value: Mapping[str, Any]) -> bool:
    """A referenced page (`slug` and `page_type`) or collection item (`meta.id`)."""
    meta = value.get("meta")
    if isinstance(meta, Mapping) and "id" in meta:
        return True
    return "slug" in value and "page_type" in value


class FieldKinds:
    """The kinds seen for each field of one page type or collection."""

    def __init__(self) -> None:
        self._seen: dict[str, set[str]] = {}

    def add(self, fields: Mapping[str, Any]) -> None:
        """Note the kinds the fields of one page or item show."""
        for key, value in fields.items():
            kinds = self._seen.setdefault(key, set())
            kind = value_kind(value)
            if kind is not None:
                kinds.add(kind)

    def schema(self) -> dict[str, str]:
        """Field key -> kind: the most specific kind seen, text when none was."""
        return {
            key: next((kind for kind in _KIND_ORDER if kind in kinds), "text")
            for key, kinds in sorted(self._seen.items())
        }


async def infer_kinds(fields_of_each: AsyncIterable[Mapping[str, Any]]) -> dict[str, str]:
    """The schema of a page type or collection from the fields of each page or item."""
    kinds = FieldKinds()
    async for fields in fields_of_each:
        kinds.add(fields)
    return kinds.schema()


async def export_schema(
    butter: ButterClient, page_types: Iterable[str], collections: Iterable[str]
) -> dict[str, dict[str, dict[str, str]]]:
    """The emulator schema of `page_types` and `collections`, read through `butter`
    (drafts included), streaming: memory does not grow with the content."""

    async def page_fields(page_type: str) -> AsyncIterator[Mapping[str, Any]]:
        async for page in butter.pages.list(page_type, preview=True):
            yield page.fields

    async def item_fields(key: str) -> AsyncIterator[Mapping[str, Any]]:
        async for item in butter.collections.list(key, preview=True):
            yield item.fields

    return {
        "page_types": {name: await infer_kinds(page_fields(name)) for name in page_types},
        "collections": {key: await infer_kinds(item_fields(key)) for key in collections},
    }


def schema_json(schema: Mapping[str, Any]) -> bytes:
    """The schema file's bytes: indented, keys sorted, the same content the same bytes."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
