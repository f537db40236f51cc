"""The emulator's in-memory content store and the API's read and write rules over it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import attrs
import orjson

FieldKind = Literal[
    "text", "number", "media", "reference", "repeater", "component", "component_picker"
]
FIELD_KINDS: tuple[FieldKind, ...] = get_args(FieldKind)
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


def _matches_filters(fields: JSON, filters: Mapping[str, str]) -> bool:
    for key, wanted in filters.items():
        value = fields.get(key)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text != wanted:
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, "" if value is None else str(value))


class ContentStore:
    """All content of one emulated account, with read queries and validated writes."""

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

    # -- bookkeeping -------------------------------------------------------------

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

    # -- blog reads --------------------------------------------------------------

    def visible_posts(self, *, preview: bool, filters: Mapping[str, str]) -> list[PostRecord]:
        """Posts newest first, drafts only in preview, filtered by author/category/tag slug."""
        key = ("posts", preview, tuple(sorted(filters.items())))

        def build() -> list[PostRecord]:
            posts = [
                record
                for record in self.posts.values()
                if (preview or record.status == "published") and self._post_matches(record, filters)
            ]
            posts.sort(key=lambda record: record.data.get("published") or "", reverse=True)
            return posts

        return self._cached(key, build)

    @staticmethod
    def _post_matches(record: PostRecord, filters: Mapping[str, str]) -> bool:
        data = record.data
        author_slug = filters.get("author_slug")
        if author_slug and (data.get("author") or {}).get("slug") != author_slug:
            return False
        category_slug = filters.get("category_slug")
        if category_slug and category_slug not in {c["slug"] for c in data["categories"]}:
            return False
        tag_slug = filters.get("tag_slug")
        return not tag_slug or tag_slug in {t["slug"] for t in data["tags"]}

    @staticmethod
    def _searchable(record: PostRecord) -> str:
        parts = ("title", "summary", "body")
        return " ".join(str(record.data.get(part) or "") for part in parts).lower()

    def search_posts(self, query: str, *, preview: bool) -> list[PostRecord]:
        """Posts whose title, summary or body contains every word of `query`."""
        words = query.lower().split()
        return [
            record
            for record in self.visible_posts(preview=preview, filters={})
            if all(word in self._searchable(record) for word in words)
        ]

    def search_rank(self, record: PostRecord, query: str) -> float:
        """A relevance score in (0, 1]: the share of the post's words that match the query."""
        text = self._searchable(record).split()
        words = set(query.lower().split())
        hits = sum(1 for word in text if any(w in word for w in words))
        return round(hits / max(1, len(text)), 8)

    def post_neighbours(self, slug: str, *, preview: bool) -> tuple[JSON | None, JSON | None]:
        """(next_post, previous_post): the newer and the older published neighbour."""
        posts = self.visible_posts(preview=preview, filters={})
        index = next((i for i, record in enumerate(posts) if record.data["slug"] == slug), None)
        if index is None:
            return None, None

        def summary(i: int) -> JSON | None:
            if not 0 <= i < len(posts):
                return None
            data = posts[i].data
            return {k: data.get(k) for k in ("slug", "title", "featured_image")}

        return summary(index - 1), summary(index + 1)

    def recent_posts(self, field: str, slug: str, *, limit: int = 10) -> list[JSON]:
        """The latest published posts of an author, category or tag."""
        filters = {f"{field}_slug": slug}
        return [record.data for record in self.visible_posts(preview=False, filters=filters)][
            :limit
        ]

    # -- schemas -----------------------------------------------------------------

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

    # -- pages -------------------------------------------------------------------

    def page_json(
        self, record: PageRecord, locale: str | None, *, alt_media_text: bool = False
    ) -> JSON:
        """A page as the read API shows it in `locale`."""
        fields = record.fields.get(self.resolve_locale(locale), {})
        if record.page_type in self.page_types:
            kinds = self.page_types[record.page_type].fields
            fields = self._with_references(fields, kinds, locale)
            if alt_media_text:
                fields = self._with_alt_text(fields, kinds)
        return {
            "slug": record.slug,
            "name": record.name,
            "published": record.published,
            "updated": record.updated,
            "page_type": record.page_type,
            "fields": fields,
        }

    def _with_references(
        self, fields: JSON, kinds: Mapping[str, FieldKind], locale: str | None
    ) -> JSON:
        """Reference fields showing the referenced items as they are now, not as they were
        when the reference was written: an item `{"meta": {"id": N}, ...}` of any
        collection is shown with its current fields (one level deep); one that no longer
        exists is left as stored."""
        references = [key for key, kind in kinds.items() if kind == "reference"]
        if not references or not any(key in fields for key in references):
            return fields
        shown = dict(fields)
        for key in references:
            value = shown.get(key)
            if isinstance(value, list):
                shown[key] = [self._referenced(item, locale) for item in value]
            elif isinstance(value, dict):
                shown[key] = self._referenced(value, locale)
        return shown

    def _referenced(self, value: Any, locale: str | None) -> Any:
        """The collection item `value` refers to, as it is now; else `value` as stored."""
        meta = value.get("meta") if isinstance(value, dict) else None
        item_id = meta.get("id") if isinstance(meta, dict) else None
        if not isinstance(item_id, int):
            return value
        found = (records[item_id] for records in self.items.values() if item_id in records)
        record = next(found, None)
        if record is None:
            return value
        return {"meta": {"id": record.id}, **record.fields.get(self.resolve_locale(locale), {})}

    def _with_alt_text(self, fields: JSON, kinds: Mapping[str, FieldKind]) -> JSON:
        """Media fields as `{"url", "alt"}` objects, as `alt_media_text=1` answers."""
        shown = dict(fields)
        for key, kind in kinds.items():
            url = shown.get(key)
            if kind == "media" and isinstance(url, str) and url:
                shown[key] = {"url": url, "alt": self.media_alt.get(url, "")}
        return shown

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
                and _matches_filters(record.fields.get(resolved, {}), filters)
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
            return lambda record: _sort_key(getattr(record, order))
        if order.startswith("fields.") and order[7:] in self.page_types[page_type].fields:
            field = order[7:]
            return lambda record: _sort_key(record.fields.get(locale, {}).get(field))
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
        body = _require_object(body)
        title = _require_text(body, "title")
        slug = _require_slug(body)
        type_slug = _require_text(body, "page_type")
        status = _status(body)
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
                key: _write_to_read(page_type.fields[key], value) for key, value in fields.items()
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
        body = _require_object(body)
        if "slug" in body and body["slug"] != record.slug:
            raise bad_request("slug", "A page's slug cannot be changed.")
        if "title" in body and body["title"] != record.name:
            raise bad_request("title", "A page's title cannot be changed.")
        status = _status(body, default=record.status)
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
                    merged = _write_to_read(kind, value)
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
            return [self.page_change(record, _action(was, status), locale)]

        return apply

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

    # -- posts -------------------------------------------------------------------

    def get_post(self, slug: str) -> PostRecord:
        """One post by slug, whatever its status (the API serves drafts by slug too)."""
        record = self.posts.get(slug)
        if record is None:
            raise StoreError(404, NOT_FOUND)
        return record

    def add_post(self, record: PostRecord) -> Change:
        """Store a created post."""
        self.posts.setdefault(record.data["slug"], record)
        self.changed()
        return self.post_change(record, "published" if record.status == "published" else "draft")

    def delete_post(self, slug: str) -> Change:
        """Remove a post."""
        record = self.get_post(slug)
        del self.posts[slug]
        self.changed()
        return self.post_change(record, "delete")

    @staticmethod
    def post_change(record: PostRecord, action: str) -> Change:
        """The documented `post.*` webhook: just the slug and the numeric id."""
        return Change(f"post.{action}", {"id": record.data["slug"], "_id": record.id})

    def validate_post_create(self, body: Any) -> PostRecord:
        """Check a `POST /posts/` body; return the post it would create."""
        body = _require_object(body)
        title = _require_text(body, "title")
        slug = _require_slug(body)
        if slug in self.posts:
            raise bad_request("slug", f"A post with slug {slug!r} already exists.")
        for key in SCHEDULING_KEYS:
            if key in body:
                raise bad_request(key, "Scheduling is not supported by the Write API.")
        status = _status(body)
        published = _check_published(body.get("published"))
        stamp = now_iso()
        data: JSON = {
            "slug": slug,
            "title": title,
            "url": body.get("url"),
            "status": status,
            "created": stamp,
            "updated": stamp,
            "published": published or (stamp if status == "published" else None),
            "deleted": None,
            "body": "",
            "summary": "",
            "seo_title": "",
            "meta_description": "",
            "featured_image": None,
            "featured_image_alt": "",
            "author": self._resolve_author(body.get("author")),
            "categories": [],
            "tags": [],
        }
        self._apply_post_fields(data, body)
        return PostRecord(data=data, status=status)

    def post_update(self, slug: str, body: Any) -> tuple[Callable[[], list[Change]], list[str]]:
        """Check a post PATCH/PUT; return the mutation to apply and the warnings to answer.

        A new `slug` renames the post. Scheduling parameters are ignored with a warning,
        as the docs say, so a scheduled post keeps its timing.
        """
        record = self.get_post(slug)
        body = dict(_require_object(body))
        warnings = [
            f"{key!r} ignored: scheduling is not supported by the Write API."
            for key in SCHEDULING_KEYS
            if body.pop(key, None) is not None
        ]
        if body.get("status") == "scheduled":
            body.pop("status")
            warnings.append("status 'scheduled' ignored: scheduling is not supported.")
        new_slug = slug
        if "slug" in body and body["slug"] != slug:
            new_slug = _require_slug(body)
            if new_slug in self.posts:
                raise bad_request("slug", f"A post with slug {new_slug!r} already exists.")
        if "title" in body:
            _require_text(body, "title")
        status = _status(body, default=record.status)
        published = _check_published(body.get("published"))
        author = self._resolve_author(body["author"]) if "author" in body else None
        self._check_post_lists(body)

        def apply() -> list[Change]:
            was = record.status
            data = record.data
            if author is not None:
                data["author"] = author
            self._apply_post_fields(data, body)
            if published is not None:
                data["published"] = published
            if status == "published" and not data.get("published"):
                data["published"] = now_iso()
            data["status"] = record.status = status
            data["updated"] = now_iso()
            if new_slug != data["slug"] and new_slug not in self.posts:
                del self.posts[data["slug"]]
                data["slug"] = new_slug
                self.posts[new_slug] = record
            self.changed()
            action = _action(was, status)
            return [self.post_change(record, "draft" if action == "unpublished" else action)]

        return apply, warnings

    _POST_TEXT_FIELDS = (
        "title",
        "body",
        "summary",
        "seo_title",
        "meta_description",
        "featured_image",
        "featured_image_alt",
    )

    def _apply_post_fields(self, data: JSON, body: JSON) -> None:
        self._check_post_lists(body)
        for key in self._POST_TEXT_FIELDS:
            if key in body:
                data[key] = body[key]
        if "categories" in body:
            data["categories"] = [self._blog_term(self.categories, n) for n in body["categories"]]
        if "tags" in body:
            data["tags"] = [self._blog_term(self.tags, n) for n in body["tags"]]

    @staticmethod
    def _check_post_lists(body: JSON) -> None:
        for key in ("categories", "tags"):
            value = body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise bad_request(key, "This field must be a list of names.")
        for key in ContentStore._POST_TEXT_FIELDS:
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise bad_request(key, "Not a valid string.")

    def _resolve_author(self, author: Any) -> JSON:
        if author is None:
            if not self.authors:
                raise bad_request("author", "An author is required.")
            return next(iter(self.authors.values()))
        if isinstance(author, dict) and "slug" in author:
            found = self.authors.get(str(author["slug"]))
        elif isinstance(author, dict) and "email" in author:
            found = next((a for a in self.authors.values() if a["email"] == author["email"]), None)
        else:
            raise bad_request("author", "Give the author as {'slug': ...} or {'email': ...}.")
        if found is None:
            raise bad_request("author", f"Author {author} does not exist.")
        return found

    @staticmethod
    def _blog_term(terms: dict[str, JSON], name: str) -> JSON:
        slug = "-".join(name.lower().split())
        return terms.setdefault(slug, {"name": name, "slug": slug})

    # -- collections -------------------------------------------------------------

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
    ) -> JSON:
        """An item as the read API shows it."""
        fields = record.fields.get(self.resolve_locale(locale), {})
        kinds = self.collection(key).fields
        fields = self._with_references(fields, kinds, locale)
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
                and _matches_filters(record.fields.get(resolved, {}), filters)
            ]
            if order:
                items.sort(
                    key=lambda record: _sort_key(record.fields.get(resolved, {}).get(order_field)),
                    reverse=order.startswith("-"),
                )
            return items

        return self._cached(cache_key, build)

    def validate_item_create(self, body: Any, locale: str | None) -> list[CollectionItemRecord]:
        """Check a `POST /content/` body; return the items it would create."""
        body = _require_object(body)
        key = _require_text(body, "key")
        schema = self.collections.get(key)
        if schema is None:
            raise bad_request("key", f"Collection {key!r} does not exist.")
        status = _status(body)
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
        body = _require_object(body)
        status = _status(body, default="draft" if replace else record.status)
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
            return [self.item_change(key, record, _action(was, status), locale)]

        return apply


WEBHOOK_EDITOR = "Write API"


def webhook_timestamp() -> str:
    """A webhook's `timestamp`, formatted as the documented examples show it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _action(was: str, status: str) -> str:
    """The webhook action of an update that moved a record from `was` to `status`."""
    if status == "published":
        return "published"
    return "unpublished" if was == "published" else "draft"


_SLUG = re.compile(r"[A-Za-z0-9_-]+")


def _require_slug(body: JSON) -> str:
    slug = _require_text(body, "slug")
    if not _SLUG.fullmatch(slug):
        raise bad_request(
            "slug", "Enter a valid slug consisting of letters, numbers, underscores or hyphens."
        )
    return slug


def _check_published(value: Any) -> str | None:
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


def _require_object(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise StoreError(400, {"detail": "JSON parse error - expected an object."})
    return body


def _require_text(body: JSON, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(key, "This field is required.")
    return value


def _status(body: JSON, default: str = "draft") -> str:
    status = body.get("status", default)
    if status not in ("draft", "published"):
        raise bad_request("status", f"{status!r} is not a valid choice (draft, published).")
    return str(status)


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data, so stored content never shares objects with a request."""
    return orjson.loads(orjson.dumps(value))


def _write_to_read(kind: FieldKind, value: Any) -> Any:
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
