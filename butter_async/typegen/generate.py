"""`types generate`: read every page and item of the named types through the client's
streaming reads (or take an emulator schema), and write the module of classes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from ..__version__ import __version__
from ..client import ButterClient
from .emit import ContentType, Emitter, render
from .shapes import FieldShape, ObjectShape, shape_from_json

#: What the header of every generated module says wrote it.
GENERATED = "`butter-async types generate`"


async def content_fields(
    butter: ButterClient, kind: str, name: str
) -> AsyncIterator[Mapping[str, Any]]:
    """The fields of every page of the page type `name` (`kind` "page") or item of the
    collection `name` ("collection"), drafts included, streamed."""
    if kind == "page":
        async for page in butter.pages.list(name, preview=True):
            yield page.fields
    else:
        async for item in butter.collections.list(name, preview=True):
            yield item.fields


async def read_content(
    butter: ButterClient, page_types: Iterable[str], collections: Iterable[str]
) -> list[ContentType]:
    """The shape of every page of each page type (`*`: each single page on its own) and
    every item of each collection, drafts included; memory grows with the schema only."""
    types: list[ContentType] = []
    named = set(page_types)
    if "*" in named:
        singles: dict[str, ObjectShape] = {}
        async for page in butter.pages.list("*", preview=True):
            singles.setdefault(page.slug, ObjectShape()).add(page.fields)
        types += [ContentType("single", slug, shape) for slug, shape in singles.items()]
    wanted = [("page", name) for name in sorted(named - {"*"})]
    wanted += [("collection", key) for key in sorted(set(collections))]
    for kind, name in wanted:
        shape = ObjectShape()
        async for fields in content_fields(butter, kind, name):
            shape.add(fields)
        types.append(ContentType(kind, name, shape))
    return types


def types_from_schema(schema: Mapping[str, Any]) -> list[ContentType]:
    """The content types of an emulator schema (`{"page_types": {...}, "collections":
    {...}}`): from what each field showed where `schema export` kept it (`types`: the
    classes generating from the account writes), else each field of the kind it
    declares, required."""
    types: list[ContentType] = []
    seen = schema.get("types") or {}
    for kind, section in (("page", "page_types"), ("collection", "collections")):
        for name, fields in (schema.get(section) or {}).items():
            kept = (seen.get(section) or {}).get(name)
            if kept is not None:
                where = f"types.{section}.{name}"
                types.append(ContentType(kind, str(name), shape_from_json(kept, where)))
                continue
            declared = fields if isinstance(fields, Mapping) else dict.fromkeys(fields, "text")
            shape = ObjectShape(count=1)
            for key, field_kind in declared.items():
                shape.fields[str(key)] = FieldShape(present=1, declared=str(field_kind))
            types.append(ContentType(kind, str(name), shape))
    return types


def module_text(types: Iterable[ContentType], account: str | None) -> str:
    """The generated module's text: the same content gives the same bytes."""
    emitter = Emitter(types)
    specs = emitter.specs()
    source = f"account {account}" if account else "an emulator schema"
    header = (
        f'"""Content types of ButterCMS {source}, written by butter-async {__version__}\n'
        f"({GENERATED}). Do not edit: generate again when the content\n"
        'changes, and run `butter-async types check` before a deploy."""'
    )
    return render(specs, emitter.top, header)
