"""What the values of each field showed across every page or item read: the evidence the
generated classes are written from. Memory grows with the schema, never the content."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

_MEDIA_HOSTS = ("cdn.buttercms.com", "/media/")
_MEDIA_ENDINGS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".mp4", ".pdf")
# ISO 8601 as the Date field reads: a date, optionally a time and an offset.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")


def is_media_url(text: str) -> bool:
    """A URL on ButterCMS's CDN or ending as a media file does."""
    lowered = text.lower()
    if not lowered.startswith(("http://", "https://")):
        return False
    return any(host in lowered for host in _MEDIA_HOSTS) or lowered.split("?")[0].endswith(
        _MEDIA_ENDINGS
    )


def is_date(text: str) -> bool:
    """Whether a string reads as the Date field's ISO 8601."""
    return _DATE.fullmatch(text) is not None


_SCALARS = {bool: "bool", int: "int", float: "float"}


@attrs.define
class FieldShape:
    """The kinds one field's values showed, and in how many objects it had a value."""

    present: int = 0
    """Objects where the field was there and not null."""
    kinds: set[str] = attrs.field(factory=set)
    """Of: text, date, media, media_alt, bool, int, float, component, repeater, picker,
    page_ref, item_ref, list (an empty list), empty_text."""
    nested: ObjectShape | None = None
    """A component's fields, a repeater's entries', or a referenced item's or page's."""
    picks: dict[str, ObjectShape] = attrs.field(factory=dict)
    """A component picker's components by their `type`."""
    page_types: set[str] = attrs.field(factory=set)
    """The page types a page reference pointed at."""
    many: bool = False
    """A reference field holding a list."""
    declared: str | None = None
    """The kind an emulator schema declares, when the shape comes from one."""

    def add(self, value: Any) -> None:
        """Note one value (not None) of this field."""
        self.present += 1
        kind = value.__class__  # JSON's own types: no subclass to look for
        if kind is str:
            self._add_text(value)
        elif kind is dict:
            self._add_object(value)
        elif kind is list:
            self._add_list(value)
        else:
            self.kinds.add(_SCALARS.get(kind, "text"))

    def _add_text(self, value: str) -> None:
        if not value:
            self.kinds.add("empty_text")
        elif is_media_url(value):
            self.kinds.add("media")
        elif is_date(value):
            self.kinds.add("date")
        else:
            self.kinds.add("text")

    def _add_object(self, value: Mapping[str, Any]) -> None:
        if set(value) == {"url", "alt"}:
            self.kinds.add("media_alt")
        elif _is_page(value):
            self.kinds.add("page_ref")
            self.page_types.add(str(value["page_type"]))
            self._nested().add(value["fields"])
        elif _is_item(value):
            self.kinds.add("item_ref")
            self._nested().add({k: v for k, v in value.items() if k != "meta"})
        else:
            self.kinds.add("component")
            self._nested().add(value)

    def _add_list(self, value: list[Any]) -> None:
        objects = [entry for entry in value if isinstance(entry, Mapping)]
        if not value:
            self.kinds.add("list")
        elif len(objects) != len(value):
            self.kinds.add("text_list" if all(isinstance(v, str) for v in value) else "mixed")
        elif all(set(entry) == {"type", "fields"} for entry in objects):
            self.kinds.add("picker")
            for entry in objects:
                self.picks.setdefault(str(entry["type"]), ObjectShape()).add(entry["fields"])
        elif all(_is_page(entry) for entry in objects):
            self.kinds.add("page_ref")
            self.many = True
            for entry in objects:
                self.page_types.add(str(entry["page_type"]))
                self._nested().add(entry["fields"])
        elif all(_is_item(entry) for entry in objects):
            self.kinds.add("item_ref")
            self.many = True
            for entry in objects:
                self._nested().add({k: v for k, v in entry.items() if k != "meta"})
        else:
            self.kinds.add("repeater")
            for entry in objects:
                self._nested().add(entry)

    def _nested(self) -> ObjectShape:
        if self.nested is None:
            self.nested = ObjectShape()
        return self.nested


@attrs.define
class ObjectShape:
    """The fields of every object of one kind (a page type's pages, a component's values)."""

    count: int = 0
    fields: dict[str, FieldShape] = attrs.field(factory=dict)

    def add(self, values: Any) -> None:
        """Note one object's fields; a field missing from it counts as missing."""
        self.count += 1
        if not isinstance(values, Mapping):
            return
        fields = self.fields
        for key, value in values.items():
            shape = fields.get(key)
            if shape is None:
                shape = fields[str(key)] = FieldShape()
            if value is not None:
                shape.add(value)


def _is_page(value: Mapping[str, Any]) -> bool:
    return "slug" in value and "page_type" in value and "fields" in value


def _is_item(value: Mapping[str, Any]) -> bool:
    meta = value.get("meta")
    return isinstance(meta, Mapping) and "id" in meta


_LISTS = frozenset({"repeater", "picker", "text_list", "page_ref", "item_ref", "list"})


def _kinds_fit(kinds: set[str], full: set[str]) -> bool:
    """Kinds within `full`; an empty list fits any field that holds lists."""
    return kinds <= full | ({"list"} if full & _LISTS else set())


def fits(part: ObjectShape | None, whole: ObjectShape) -> bool:
    """Whether every object `part` saw would fit the class written from `whole`: the same
    kinds or fewer for each field, and every field `whole` requires always there. A
    reference read below `levels` shows as stored, so a page referenced from a page of
    its own type may not fit that type's class."""
    if part is None:
        return False
    for key, needed in whole.fields.items():
        seen = part.fields.get(key)
        required = needed.present == whole.count
        if required and (seen is None or seen.present < part.count):
            return False
    for key, field in part.fields.items():
        full = whole.fields.get(key)
        if full is None or not _kinds_fit(field.kinds, full.kinds):
            return False
        nested_fits = full.nested is not None and fits(field.nested, full.nested)
        if field.nested is not None and not nested_fits:
            return False
        for kind, picked in field.picks.items():
            if kind not in full.picks or not fits(picked, full.picks[kind]):
                return False
    return True


def shape_json(shape: ObjectShape) -> dict[str, Any]:
    """An object's shape as JSON (kinds sorted: the same shape, the same text)."""
    return {
        "count": shape.count,
        "fields": {key: _field_json(shape.fields[key]) for key in sorted(shape.fields)},
    }


def _field_json(field: FieldShape) -> dict[str, Any]:
    data: dict[str, Any] = {"present": field.present, "kinds": sorted(field.kinds)}
    if field.nested is not None:
        data["nested"] = shape_json(field.nested)
    if field.picks:
        data["picks"] = {kind: shape_json(field.picks[kind]) for kind in sorted(field.picks)}
    if field.page_types:
        data["page_types"] = sorted(field.page_types)
    if field.many:
        data["many"] = True
    return data


def shape_from_json(data: Any, where: str = "types") -> ObjectShape:
    """An object's shape read back from `shape_json`; ValueError names what is wrong."""
    try:
        fields = {
            str(key): _field_from_json(value, f"{where}.{key}")
            for key, value in dict(data.get("fields") or {}).items()
        }
        return ObjectShape(count=int(data["count"]), fields=fields)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where}: not a shape written by schema export ({error})") from None


def _field_from_json(data: Any, where: str) -> FieldShape:
    nested = data.get("nested")
    return FieldShape(
        present=int(data["present"]),
        kinds={str(kind) for kind in data["kinds"]},
        nested=None if nested is None else shape_from_json(nested, f"{where}.nested"),
        picks={
            str(kind): shape_from_json(value, f"{where}.{kind}")
            for kind, value in dict(data.get("picks") or {}).items()
        },
        page_types={str(name) for name in data.get("page_types") or ()},
        many=bool(data.get("many", False)),
    )
