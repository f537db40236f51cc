"""Collections in the store: items read, listed, filtered and written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import StoreBase
from .records import (
    DEFAULT_LEVELS,
    JSON,
    NOT_FOUND,
    WEBHOOK_EDITOR,
    Change,
    CollectionItemRecord,
    CollectionSchema,
    StoreError,
    bad_request,
    check_field_keys,
    empty_value,
    json_copy,
    matches_filters,
    publish_status,
    require_object,
    require_text,
    sort_key,
    webhook_action,
    webhook_timestamp,
)


class CollectionsStore(StoreBase):
    """Collection item reads and validated item writes."""

    def collection(self, key: str) -> CollectionSchema:
        """The schema of a collection, 404 if unknown."""
        schema = self.collections.get(key)
        if schema is None:
            raise StoreError(404, NOT_FOUND)
        return schema

    def item_json(
        self,
        key: str,
        record: CollectionItemRecord,
        locale: str | None,
        *,
        alt_media_text: bool = False,
        levels: int = DEFAULT_LEVELS,
    ) -> JSON:
        """An item as the read API shows it, references `levels` deep."""
        fields = record.fields.get(self.resolve_locale(locale), {})
        kinds = self.collection(key).fields
        fields = self._with_references(fields, kinds, locale, levels)
        if alt_media_text:
            fields = self._with_alt_text(fields, kinds)
        return {"meta": {"id": record.id}, **fields}

    def get_item(self, key: str, item_id: int, *, preview: bool) -> CollectionItemRecord:
        """One item by collection key and id (drafts only in preview)."""
        self.collection(key)
        record = self.items[key].get(item_id)
        if record is None or (record.status != "published" and not preview):
            raise StoreError(404, NOT_FOUND)
        return record

    def add_items(self, key: str, records: list[CollectionItemRecord]) -> list[Change]:
        """Store created items, giving each a fresh id."""
        for record in records:
            record.id = self.next_item_id()
            self.items[key][record.id] = record
        self.changed()
        return [
            self.item_change(key, r, "published" if r.status == "published" else "draft")
            for r in records
        ]

    def delete_item(self, key: str, item_id: int) -> Change:
        """Remove an item."""
        record = self.get_item(key, item_id, preview=True)
        del self.items[key][item_id]
        self.changed()
        return self.item_change(key, record, "delete")

    def item_change(
        self, key: str, record: CollectionItemRecord, action: str, locale: str | None = None
    ) -> Change:
        """The documented `collectionitem.*` webhook for `record`."""
        fields = record.fields.get(self.resolve_locale(locale), {})
        label = next((v for v in fields.values() if isinstance(v, str) and v), str(record.id))
        return Change(
            f"collectionitem.{action}",
            {
                "id": key,
                "itemid": f"/v2/content/?keys={key}[_id={record.id}]",
                "label": label,
                "editor": WEBHOOK_EDITOR,
                "timestamp": webhook_timestamp(),
                "locale": locale,
                "status": "deleted" if action == "delete" else record.status,
            },
        )

    def visible_items(
        self,
        key: str,
        *,
        preview: bool,
        locale: str | None,
        filters: Mapping[str, str],
        order: str | None,
    ) -> list[CollectionItemRecord]:
        """Items of a collection in creation order (or `order`), filtered on fields."""
        schema = self.collection(key)
        for field in filters:
            if field not in schema.fields:
                raise StoreError(403, {"detail": f"Invalid filter field {field!r}."})
        order_field = (order or "").lstrip("-").removeprefix("fields.")
        if order and order_field not in schema.fields:
            raise StoreError(403, {"detail": f"Invalid order field {order_field!r}."})
        resolved = self.resolve_locale(locale)
        cache_key = ("items", key, preview, resolved, tuple(sorted(filters.items())), order)

        def build() -> list[CollectionItemRecord]:
            items = [
                record
                for record in self.items[key].values()
                if (preview or record.status == "published")
                and matches_filters(record.fields.get(resolved, {}), filters)
            ]
            if order:
                items.sort(
                    key=lambda record: sort_key(record.fields.get(resolved, {}).get(order_field)),
                    reverse=order.startswith("-"),
                )
            return items

        return self._cached(cache_key, build)

    def validate_item_create(self, body: Any, locale: str | None) -> list[CollectionItemRecord]:
        """Check a `POST /content/` body; return the items it would create."""
        body = require_object(body)
        key = require_text(body, "key")
        schema = self.collections.get(key)
        if schema is None:
            raise bad_request("key", f"Collection {key!r} does not exist.")
        status = publish_status(body)
        raw = body.get("fields")
        entries = raw if isinstance(raw, list) else [raw]
        if not entries:
            raise bad_request("fields", "Give at least one item.")
        records = []
        for entry in entries:
            by_locale = self._split_locales(entry, locale)
            for fields in by_locale.values():
                check_field_keys(fields, schema.fields, complete=True)
            # Keyed by locale, None for the default one: copy each locale's fields.
            fields_by_locale = {loc: json_copy(fields) for loc, fields in by_locale.items()}
            records.append(CollectionItemRecord(id=0, status=status, fields=fields_by_locale))
        return records

    def item_update(
        self, key: str, item_id: int, body: Any, locale: str | None, *, replace: bool
    ) -> Callable[[], list[Change]]:
        """Check a collection item PUT (`replace`: the whole item) or PATCH (a merge).

        PUT recreates the item from the body: fields it leaves out are cleared and the
        status defaults to draft. PATCH keeps whatever the body does not name.
        """
        schema = self.collection(key)
        record = self.get_item(key, item_id, preview=True)
        body = require_object(body)
        status = publish_status(body, default="draft" if replace else record.status)
        changes = self._split_locales(body.get("fields", {}), locale)
        for fields in changes.values():
            check_field_keys(fields, schema.fields, complete=False)

        def apply() -> list[Change]:
            was = record.status
            for loc, fields in changes.items():
                if replace:
                    cleared = {k: empty_value(kind) for k, kind in schema.fields.items()}
                    record.fields[loc] = {**cleared, **json_copy(fields)}
                else:
                    record.fields.setdefault(loc, {}).update(json_copy(fields))
            record.status = status
            self.changed()
            return [self.item_change(key, record, webhook_action(was, status), locale)]

        return apply
