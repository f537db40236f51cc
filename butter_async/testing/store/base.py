"""The store's state and bookkeeping, schemas, and how stored fields are shown (references,
alt texts, locales), shared by every family."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .records import (
    JSON,
    CollectionItemRecord,
    CollectionSchema,
    FieldKind,
    PageRecord,
    PageType,
    PostRecord,
    SchemaFields,
    StoreError,
    bad_request,
    schema_kinds,
)


class StoreBase:
    """All content of one emulated account: its state, and what every family shares."""

    def __init__(self, *, locales: Iterable[str] = ()) -> None:
        self.locales: list[str] = list(locales)
        self.authors: dict[str, JSON] = {}
        self.categories: dict[str, JSON] = {}
        self.tags: dict[str, JSON] = {}
        self.posts: dict[str, PostRecord] = {}
        self.page_types: dict[str, PageType] = {}
        self.pages: dict[tuple[str | None, str], PageRecord] = {}
        #: The media library's alt texts by URL, served with `alt_media_text=1`.
        self.media_alt: dict[str, str] = {}
        self.collections: dict[str, CollectionSchema] = {}
        self.items: dict[str, dict[int, CollectionItemRecord]] = {}
        self._ids = itertools.count(1000)
        self._version = 0
        self._cache: dict[tuple[Any, ...], list[Any]] = {}

    def changed(self) -> None:
        """Invalidate cached listings after any mutation."""
        self._version += 1
        self._cache.clear()

    def _cached(self, key: tuple[Any, ...], build: Callable[[], list[Any]]) -> list[Any]:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = build()
        return found

    def resolve_locale(self, locale: str | None) -> str | None:
        """The stored locale a request means (None without localization); 400 if unknown."""
        if not self.locales:
            return None
        if locale is None:
            return self.locales[0]
        if locale not in self.locales:
            raise StoreError(400, {"locale": [f"Invalid locale {locale!r}."]})
        return locale

    def next_item_id(self) -> int:
        """A fresh collection item id."""
        return next(self._ids)

    def define_page_type(self, slug: str, fields: SchemaFields) -> PageType:
        """Declare (or redeclare) a page type: its field keys, or key -> kind."""
        if not isinstance(slug, str) or not slug or slug == "*":
            raise ValueError("a page type needs a slug other than '*'")
        page_type = self.page_types[slug] = PageType(slug, schema_kinds(fields))
        self.changed()
        return page_type

    def define_collection(self, key: str, fields: SchemaFields) -> CollectionSchema:
        """Declare (or redeclare) a collection: its field keys, or key -> kind."""
        if not isinstance(key, str) or not key or "," in key:
            raise ValueError("a collection needs a key without ','")
        schema = self.collections[key] = CollectionSchema(key, fields)
        self.items.setdefault(key, {})
        self.changed()
        return schema

    def _with_references(
        self, fields: JSON, kinds: Mapping[str, FieldKind], locale: str | None, levels: int
    ) -> JSON:
        """Reference fields showing what they refer to as it is now, not as it was when the
        reference was written, `levels` deep (a referenced item's or page's own references
        one level less): a collection item (written as its id or `{"meta": {"id": N}}`)
        with its fields, a page (written as its slug) as a read shows it. What no longer
        exists, and references below `levels`, are left as stored."""
        references = [key for key, kind in kinds.items() if kind == "reference"]
        if levels < 1 or not any(key in fields for key in references):
            return fields
        shown = dict(fields)
        for key in references:
            value = shown.get(key)
            if isinstance(value, list):
                shown[key] = [self._referenced(item, locale, levels) for item in value]
            elif isinstance(value, dict | int | str) and not isinstance(value, bool):
                shown[key] = self._referenced(value, locale, levels)
        return shown

    def _referenced(self, value: Any, locale: str | None, levels: int) -> Any:
        """The item or page `value` refers to, its references `levels - 1` deep."""
        if isinstance(value, str):
            return self._referenced_page(value, locale, levels)
        meta = value.get("meta") if isinstance(value, dict) else None
        item_id = meta.get("id") if isinstance(meta, dict) else value
        if not isinstance(item_id, int) or isinstance(item_id, bool):
            return value
        for key, records in self.items.items():
            record = records.get(item_id)
            if record is not None:
                fields = record.fields.get(self.resolve_locale(locale), {})
                kinds = self.collections[key].fields if key in self.collections else {}
                fields = self._with_references(fields, kinds, locale, levels - 1)
                return {"meta": {"id": record.id}, **fields}
        return value

    def _referenced_page(self, slug: str, locale: str | None, levels: int) -> Any:
        """The one page with `slug`, as a read shows it; else the slug."""
        found = [record for record in self.pages.values() if record.slug == slug]
        if len(found) != 1:
            return slug
        record = found[0]
        fields = record.fields.get(self.resolve_locale(locale), {})
        if record.page_type in self.page_types:
            kinds = self.page_types[record.page_type].fields
            fields = self._with_references(fields, kinds, locale, levels - 1)
        return page_shown(record, fields)

    def _with_alt_text(self, fields: JSON, kinds: Mapping[str, FieldKind]) -> JSON:
        """Media fields as `{"url", "alt"}` objects, as `alt_media_text=1` answers."""
        shown = dict(fields)
        for key, kind in kinds.items():
            url = shown.get(key)
            if kind == "media" and isinstance(url, str) and url:
                shown[key] = {"url": url, "alt": self.media_alt.get(url, "")}
        return shown

    def _split_locales(self, fields: Any, locale: str | None) -> dict[str | None, JSON]:
        """Fields per locale, from a flat body (`?locale=` or no localization) or a keyed one."""
        if not isinstance(fields, dict):
            raise bad_request("fields", "This field must be an object.")
        if not self.locales:
            if locale is not None:
                raise bad_request("locale", "This account has no locales configured.")
            return {None: fields}
        if locale is not None:
            return {self.resolve_locale(locale): fields}
        if fields and all(key in self.locales for key in fields):
            for value in fields.values():
                if not isinstance(value, dict):
                    raise bad_request("fields", "Each locale's fields must be an object.")
            return dict(fields)
        return {self.locales[0]: fields}


def page_shown(record: PageRecord, fields: JSON) -> JSON:
    """A page as reads show it, with `fields` as they are to be shown."""
    return {
        "slug": record.slug,
        "name": record.name,
        "published": record.published,
        "updated": record.updated,
        "page_type": record.page_type,
        "fields": fields,
    }
