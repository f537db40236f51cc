"""An account's content schema as the emulator declares it, inferred from what reads return.

ButterCMS has no schema endpoint, so the kind of each field (text, number, media,
reference, repeater, component, component picker) is told from its values across every
page of a page type or item of a collection. The result is the structure that
`Emulator(page_types=..., collections=...)` and `butter-async emulator --schema` take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from .client import ButterClient
from .typegen.generate import content_fields
from .typegen.shapes import ObjectShape, shape_json

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


async def export_schema(
    butter: ButterClient, page_types: Iterable[str], collections: Iterable[str]
) -> dict[str, Any]:
    """The emulator schema of `page_types` and `collections`, read through `butter`
    (drafts included), streaming: memory does not grow with the content. Beside the
    kinds the emulator takes, `types` keeps what each field showed, from which
    `types generate --schema` writes the classes it would write from the account."""
    schema: dict[str, Any] = {"page_types": {}, "collections": {}}
    shapes: dict[str, Any] = {"page_types": {}, "collections": {}}
    for section, kind, names in (
        ("page_types", "page", page_types),
        ("collections", "collection", collections),
    ):
        for name in names:
            kinds, shape = FieldKinds(), ObjectShape()
            async for fields in content_fields(butter, kind, name):
                kinds.add(fields)
                shape.add(fields)
            schema[section][name], shapes[section][name] = kinds.schema(), shape_json(shape)
    schema["types"] = shapes
    return schema


def schema_json(schema: Mapping[str, Any]) -> bytes:
    """The schema file's bytes: indented, keys sorted, the same content the same bytes."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
