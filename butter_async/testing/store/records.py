"""The emulator's content records, listings, and the validation rules shared by every
family of content."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import attrs
import orjson

FieldKind = Literal[
    "text", "number", "media", "reference", "repeater", "component", "component_picker"
]
FIELD_KINDS: tuple[FieldKind, ...] = get_args(FieldKind)
#: How deep a read expands references when it gives no `levels` (the API's default).
DEFAULT_LEVELS = 2
JSON = dict[str, Any]
#: A schema as users declare it: field keys (all text) or field key -> kind.
SchemaFields = Iterable[str] | Mapping[str, FieldKind]

NOT_FOUND: JSON = {"detail": "Not found."}
PAGE_NOT_FOUND: JSON = {"detail": "Page not found."}
MIN_LEVELS, MAX_LEVELS = 1, 5
#: Post body keys that would schedule: refused on create, ignored on update (the docs).
SCHEDULING_KEYS = ("scheduled",)


class StoreError(Exception):
    """A request the API would refuse: carries the HTTP status and JSON body to answer."""

    def __init__(self, status: int, body: JSON) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def bad_request(field: str, message: str) -> StoreError:
    """A 400 with a field-level message, as the Write API reports validation errors."""
    return StoreError(400, {field: [message]})


def check_field_keys(fields: JSON, schema: Iterable[str], *, complete: bool) -> None:
    """400 for keys the schema lacks, and (on create, `complete`) for schema keys missing."""
    known = set(schema)
    missing = sorted(known - set(fields)) if complete else []
    if missing:
        raise bad_request("fields", f"Missing field keys: {', '.join(missing)}.")
    unknown = sorted(set(fields) - known)
    if unknown:
        raise bad_request("fields", f"Unknown field keys: {', '.join(unknown)}.")


def now_iso() -> str:
    """The current time as the API formats timestamps."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def schema_kinds(fields: SchemaFields) -> dict[str, FieldKind]:
    """Field key -> kind from a declared schema; a bare key is a text field."""
    if isinstance(fields, Mapping):
        kinds = dict(fields)
    elif isinstance(fields, str):
        raise TypeError("give the schema's field keys as a list or a mapping, not a string")
    else:
        kinds = dict.fromkeys(fields, "text")
    for key, kind in kinds.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"field keys must be non-empty strings, got {key!r}")
        if kind not in FIELD_KINDS:
            raise ValueError(f"field {key!r}: kind must be one of {', '.join(FIELD_KINDS)}")
    return kinds


def empty_value(kind: FieldKind) -> Any:
    """What a field holds when a full update (PUT) leaves it out, as the API clears it."""
    if kind in ("repeater", "component_picker"):
        return []
    if kind == "component":
        return {}
    if kind in ("number", "reference"):
        return None
    return ""


@attrs.define
class PageType:
    """A page type's schema: field key -> kind (kinds decide update semantics)."""

    slug: str
    fields: dict[str, FieldKind]


_record_ids = itertools.count(5000)


@attrs.define
class PageRecord:
    """A stored page; `fields` maps a locale (None without localization) to its fields."""

    slug: str
    name: str
    page_type: str | None
    status: str
    published: str | None
    updated: str
    fields: dict[str | None, JSON]
    id: int = attrs.field(factory=lambda: next(_record_ids))

    @property
    def key(self) -> tuple[str | None, str]:
        """Where the store keeps it: (page type or None for a single page, slug)."""
        return (self.page_type, self.slug)


@attrs.define
class CollectionSchema:
    """A collection's key and its fields (key -> kind; a list of keys means all text)."""

    key: str
    fields: dict[str, FieldKind] = attrs.field(converter=schema_kinds)


@attrs.define
class CollectionItemRecord:
    """A stored collection item; `fields` maps a locale to its fields."""

    id: int
    status: str
    fields: dict[str | None, JSON]


@attrs.define
class PostRecord:
    """A stored blog post in API shape (author, categories and tags resolved)."""

    data: JSON
    status: str
    id: int = attrs.field(factory=lambda: next(_record_ids))
    locales: dict[str, JSON] = attrs.field(factory=dict)
    """Translations by locale: the text fields that differ from the post as written."""


@attrs.frozen
class Change:
    """An applied write, described as the webhook ButterCMS sends for it."""

    event: str
    data: JSON


@attrs.define
class Listing:
    """One page of a list query: the visible items and the pagination meta."""

    items: list[Any]
    meta: JSON


def paginate(items: list[Any], params: Mapping[str, str]) -> Listing:
    """Slice `items` by page/page_size or limit/offset, with the API's meta shapes."""
    page_based = "page" in params or "page_size" in params
    offset_based = "limit" in params or "offset" in params
    if page_based and offset_based:
        raise StoreError(400, {"detail": "Use either page/page_size or limit/offset, not both."})
    count = len(items)
    if offset_based:
        limit = min(_int_param(params, "limit", 10, minimum=1), 100)
        offset = _int_param(params, "offset", 0, minimum=0)
        chunk = items[offset : offset + limit]
        next_offset = offset + limit if offset + limit < count else None
        previous_offset = max(0, offset - limit) if offset > 0 else None
        meta = {"count": count, "next_offset": next_offset, "previous_offset": previous_offset}
        return Listing(chunk, meta)
    page = _int_param(params, "page", 1, minimum=1)
    size = min(_int_param(params, "page_size", 10, minimum=1), 100)
    start = (page - 1) * size
    chunk = items[start : start + size]
    meta = {
        "next_page": page + 1 if start + size < count else None,
        "previous_page": page - 1 if page > 1 else None,
        "count": count,
    }
    return Listing(chunk, meta)


def _int_param(params: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StoreError(400, {name: [f"A valid integer is required, got {raw!r}."]}) from None
    if value < minimum:
        raise StoreError(400, {name: [f"Ensure this value is greater than or equal to {minimum}."]})
    return value


def matches_filters(fields: JSON, filters: Mapping[str, str]) -> bool:
    for key, wanted in filters.items():
        value = fields.get(key)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text != wanted:
            return False
    return True


def sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, "" if value is None else str(value))


WEBHOOK_EDITOR = "Write API"


def webhook_timestamp() -> str:
    """A webhook's `timestamp`, formatted as the documented examples show it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def webhook_action(was: str, status: str) -> str:
    """The webhook action of an update that moved a record from `was` to `status`."""
    if status == "published":
        return "published"
    return "unpublished" if was == "published" else "draft"


_SLUG = re.compile(r"[A-Za-z0-9_-]+")


def require_slug(body: JSON) -> str:
    slug = require_text(body, "slug")
    if not _SLUG.fullmatch(slug):
        raise bad_request(
            "slug", "Enter a valid slug consisting of letters, numbers, underscores or hyphens."
        )
    return slug


def check_published(value: Any) -> str | None:
    """A post's `published` date: ISO 8601 with a timezone and not in the future."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad_request("published", "Give an ISO 8601 date-time with a timezone.")
    if when > datetime.now(UTC):
        raise bad_request("published", "Scheduling is not supported by the Write API.")
    return str(value)


def require_object(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise StoreError(400, {"detail": "JSON parse error - expected an object."})
    return body


def require_text(body: JSON, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(key, "This field is required.")
    return value


def publish_status(body: JSON, default: str = "draft") -> str:
    status = body.get("status", default)
    if status not in ("draft", "published"):
        raise bad_request("status", f"{status!r} is not a valid choice (draft, published).")
    return str(status)


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data, so stored content never shares objects with a request."""
    return orjson.loads(orjson.dumps(value))


def write_to_read(kind: FieldKind, value: Any) -> Any:
    """Convert a written value to its read shape: pickers `[{name: {...}}]` -> `{type, fields}`."""
    if kind == "component_picker" and isinstance(value, list):
        converted = []
        for entry in value:
            if isinstance(entry, dict) and len(entry) == 1 and "type" not in entry:
                ((name, fields),) = entry.items()
                converted.append({"type": name, "fields": fields})
            else:
                converted.append(entry)
        return converted
    return json_copy(value)
