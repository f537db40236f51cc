"""Pages in the store: read, listed by type, searched and written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from .base import StoreBase, page_shown
from .records import (
    DEFAULT_LEVELS,
    JSON,
    NOT_FOUND,
    PAGE_NOT_FOUND,
    WEBHOOK_EDITOR,
    Change,
    PageRecord,
    StoreError,
    bad_request,
    check_field_keys,
    matches_filters,
    now_iso,
    publish_status,
    require_object,
    require_slug,
    require_text,
    sort_key,
    webhook_action,
    webhook_timestamp,
    write_to_read,
)


class PagesStore(StoreBase):
    """Page reads and validated page writes."""

    def page_json(
        self,
        record: PageRecord,
        locale: str | None,
        *,
        alt_media_text: bool = False,
        levels: int = DEFAULT_LEVELS,
    ) -> JSON:
        """A page as the read API shows it in `locale`, references `levels` deep."""
        fields = record.fields.get(self.resolve_locale(locale), {})
        if record.page_type in self.page_types:
            kinds = self.page_types[record.page_type].fields
            fields = self._with_references(fields, kinds, locale, levels)
            if alt_media_text:
                fields = self._with_alt_text(fields, kinds)
        return page_shown(record, fields)

    def find_pages(self, slug: str) -> list[PageRecord]:
        """Every page with `slug`, whatever its type (the API allows one per type)."""
        return [record for record in self.pages.values() if record.slug == slug]

    def page(self, slug: str, page_type: str | None = None) -> PageRecord:
        """The page with `slug` (of `page_type` when given); KeyError if not exactly one."""
        found = [r for r in self.find_pages(slug) if page_type is None or r.page_type == page_type]
        if len(found) != 1:
            raise KeyError(f"{len(found)} pages with slug {slug!r}")
        return found[0]

    def page_slugs(self) -> list[str]:
        """The slug of every stored page (a slug shared by two types appears twice)."""
        return [record.slug for record in self.pages.values()]

    def put_page(self, record: PageRecord) -> None:
        """Store a page as it is (for seeding and tests), replacing one of the same key."""
        self.pages[record.key] = record
        self.changed()

    def add_page(self, record: PageRecord) -> Change:
        """Store a created page."""
        self.pages.setdefault(record.key, record)
        self.changed()
        return self.page_change(record, "published" if record.status == "published" else "draft")

    def delete_page(self, record: PageRecord) -> Change:
        """Remove a page."""
        self.pages.pop(record.key, None)
        self.changed()
        return self.page_change(record, "delete")

    def page_change(self, record: PageRecord, action: str, locale: str | None = None) -> Change:
        """The documented `page.*` webhook for `record`."""
        return Change(
            f"page.{action}",
            {
                "id": record.slug,
                "buttercms_id": record.id,
                "page_type": record.page_type or "*",
                "editor": WEBHOOK_EDITOR,
                "name": record.name,
                "timestamp": webhook_timestamp(),
                "locale": locale,
                "status": "deleted" if action == "delete" else record.status,
                "updated": record.updated,
                "published": record.published,
                "scheduled": None,
            },
        )

    def visible_pages(
        self,
        page_type: str,
        *,
        preview: bool,
        locale: str | None,
        filters: Mapping[str, str],
        order: str | None,
    ) -> list[PageRecord]:
        """Pages of a type (`*`: single pages), filtered on fields and ordered."""
        if page_type != "*" and page_type not in self.page_types:
            raise StoreError(404, NOT_FOUND)
        if page_type == "*" and (filters or order):
            raise StoreError(400, {"detail": "Filtering and ordering need a page type."})
        resolved = self.resolve_locale(locale)
        key = ("pages", page_type, preview, resolved, tuple(sorted(filters.items())), order)

        def build() -> list[PageRecord]:
            wanted_type = None if page_type == "*" else page_type
            pages = [
                record
                for record in self.pages.values()
                if record.page_type == wanted_type
                and (preview or record.status == "published")
                and matches_filters(record.fields.get(resolved, {}), filters)
            ]
            if order:
                pages.sort(
                    key=self._page_order_key(page_type, order.lstrip("-"), resolved),
                    reverse=order.startswith("-"),
                )
            return pages

        return self._cached(key, build)

    def _page_order_key(
        self, page_type: str, order: str, locale: str | None
    ) -> Callable[[PageRecord], tuple[int, Any]]:
        if order in ("published", "updated"):
            return lambda record: sort_key(getattr(record, order))
        if order.startswith("fields.") and order[7:] in self.page_types[page_type].fields:
            field = order[7:]
            return lambda record: sort_key(record.fields.get(locale, {}).get(field))
        raise StoreError(400, {"order": [f"Invalid order {order!r}."]})

    def search_pages(
        self, query: str, *, page_type: str | None, preview: bool, locale: str | None
    ) -> list[PageRecord]:
        """Pages matching every word of `query`, most relevant first (`*`: single pages)."""
        words = query.lower().split()
        resolved = self.resolve_locale(locale)
        ranked: list[tuple[int, PageRecord]] = []
        for record in self.pages.values():
            if page_type == "*" and record.page_type is not None:
                continue
            if page_type not in (None, "*") and record.page_type != page_type:
                continue
            if not preview and record.status != "published":
                continue
            name = record.name.lower()
            text = name + " " + orjson.dumps(record.fields.get(resolved, {})).decode().lower()
            if words and all(word in text for word in words):
                # Relevance: occurrences of the query's words, a hit in the name counting 3.
                score = sum(text.count(word) + 2 * name.count(word) for word in words)
                ranked.append((score, record))
        ranked.sort(key=lambda pair: pair[0], reverse=True)
        return [record for _, record in ranked]

    def get_page(self, page_type: str, slug: str, *, preview: bool) -> PageRecord:
        """One page by type and slug; `*` finds it whatever its type (403 if several)."""
        if page_type == "*":
            found = self.find_pages(slug)
            if len(found) > 1:
                raise StoreError(
                    403,
                    {
                        "detail": f"Several pages have the slug {slug!r}: "
                        "give the page type instead of '*'."
                    },
                )
            record = found[0] if found else None
        else:
            record = self.pages.get((page_type, slug))
        if record is None or (not preview and record.status != "published"):
            raise StoreError(404, PAGE_NOT_FOUND)
        return record

    def validate_page_create(self, body: Any, locale: str | None) -> PageRecord:
        """Check a `POST /pages/` body; return the page it would create."""
        body = require_object(body)
        title = require_text(body, "title")
        slug = require_slug(body)
        type_slug = require_text(body, "page_type")
        status = publish_status(body)
        page_type = self.page_types.get(type_slug)
        if page_type is None:
            raise bad_request("page_type", f"Page type {type_slug!r} does not exist.")
        if (type_slug, slug) in self.pages:
            raise bad_request("slug", f"A page with slug {slug!r} already exists.")
        by_locale = self._split_locales(body.get("fields"), locale)
        stored: dict[str | None, JSON] = {}
        for loc, fields in by_locale.items():
            check_field_keys(fields, page_type.fields, complete=True)
            stored[loc] = {
                key: write_to_read(page_type.fields[key], value) for key, value in fields.items()
            }
        stamp = now_iso()
        return PageRecord(
            slug=slug,
            name=title,
            page_type=type_slug,
            status=status,
            published=stamp if status == "published" else None,
            updated=stamp,
            fields=stored,
        )

    def page_update(
        self, page_type: str, slug: str, body: Any, locale: str | None
    ) -> Callable[[], list[Change]]:
        """Check a page PATCH/PUT (both partial); return the mutation to apply."""
        record = self.get_page(page_type, slug, preview=True)
        body = require_object(body)
        if "slug" in body and body["slug"] != record.slug:
            raise bad_request("slug", "A page's slug cannot be changed.")
        if "title" in body and body["title"] != record.name:
            raise bad_request("title", "A page's title cannot be changed.")
        status = publish_status(body, default=record.status)
        schema = self.page_types[record.page_type].fields if record.page_type else None
        changes = self._split_locales(body.get("fields", {}), locale)
        for fields in changes.values():
            if schema is not None:
                check_field_keys(fields, schema, complete=False)

        def apply() -> list[Change]:
            was = record.status
            for loc, fields in changes.items():
                current = record.fields.setdefault(loc, {})
                for key, value in fields.items():
                    kind = schema[key] if schema is not None else "text"
                    merged = write_to_read(kind, value)
                    if kind == "component" and isinstance(current.get(key), dict):
                        merged = {**current[key], **merged}
                    current[key] = merged
            if status == "published" and record.status != "published":
                record.published = now_iso()
            elif status != "published":
                record.published = None  # page-unpublished: `published` is null afterwards
            record.status = status
            record.updated = now_iso()
            self.changed()
            return [self.page_change(record, webhook_action(was, status), locale)]

        return apply
