"""The emulator's in-memory content store and the API's read and write rules over it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import orjson

FieldKind = Literal["text", "number", "media", "repeater", "component", "component_picker"]
JSON = dict[str, Any]

NOT_FOUND: JSON = {"detail": "Not found."}


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


@attrs.define
class PageType:
    """A page type's schema: field key -> kind (kinds decide update semantics)."""

    slug: str
    fields: dict[str, FieldKind]


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


@attrs.define
class CollectionSchema:
    """A collection's key and field keys."""

    key: str
    fields: list[str]


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
        self.pages: dict[str, PageRecord] = {}
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

    def _locale(self, locale: str | None) -> str | None:
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

    # -- pages -------------------------------------------------------------------

    def page_json(self, record: PageRecord, locale: str | None) -> JSON:
        """A page as the read API shows it in `locale`."""
        return {
            "slug": record.slug,
            "name": record.name,
            "published": record.published,
            "updated": record.updated,
            "page_type": record.page_type,
            "fields": record.fields.get(self._locale(locale), {}),
        }

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
        resolved = self._locale(locale)
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
        """Pages whose name or field values contain every word of `query`."""
        words = query.lower().split()
        resolved = self._locale(locale)
        found = []
        for record in self.pages.values():
            if page_type and record.page_type != page_type:
                continue
            if not preview and record.status != "published":
                continue
            text = (record.name + " " + str(record.fields.get(resolved, {}))).lower()
            if all(word in text for word in words):
                found.append(record)
        return found

    def get_page(self, page_type: str, slug: str, *, preview: bool) -> PageRecord:
        """One page by type and slug (`*` matches any type for writes, single pages for reads)."""
        record = self.pages.get(slug)
        if record is None or (not preview and record.status != "published"):
            raise StoreError(404, {"detail": "Page not found."})
        if page_type != "*" and record.page_type != page_type:
            raise StoreError(404, {"detail": "Page not found."})
        return record

    def validate_page_create(self, body: Any, locale: str | None) -> PageRecord:
        """Check a `POST /pages/` body; return the page it would create."""
        body = _require_object(body)
        title = _require_text(body, "title")
        slug = _require_text(body, "slug")
        type_slug = _require_text(body, "page_type")
        status = _status(body)
        page_type = self.page_types.get(type_slug)
        if page_type is None:
            raise bad_request("page_type", f"Page type {type_slug!r} does not exist.")
        if slug in self.pages:
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
    ) -> Callable[[], None]:
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

        def apply() -> None:
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
            record.status = status
            record.updated = now_iso()

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
            return {self._locale(locale): fields}
        if fields and all(key in self.locales for key in fields):
            for value in fields.values():
                if not isinstance(value, dict):
                    raise bad_request("fields", "Each locale's fields must be an object.")
            return dict(fields)
        return {self.locales[0]: fields}

    # -- posts -------------------------------------------------------------------

    def validate_post_create(self, body: Any) -> PostRecord:
        """Check a `POST /posts/` body; return the post it would create."""
        body = _require_object(body)
        title = _require_text(body, "title")
        slug = _require_text(body, "slug")
        if slug in self.posts:
            raise bad_request("slug", f"A post with slug {slug!r} already exists.")
        status = _status(body)
        data: JSON = {
            "slug": slug,
            "title": title,
            "url": body.get("url"),
            "status": status,
            "created": now_iso(),
            "updated": now_iso(),
            "published": body.get("published") or (now_iso() if status == "published" else None),
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

    def post_update(self, slug: str, body: Any) -> Callable[[], None]:
        """Check a post PATCH/PUT; return the mutation to apply."""
        record = self.posts.get(slug)
        if record is None:
            raise StoreError(404, NOT_FOUND)
        body = _require_object(body)
        if "slug" in body and body["slug"] != slug:
            raise bad_request("slug", "A post's slug cannot be changed.")
        status = _status(body, default=record.status)
        author = self._resolve_author(body["author"]) if "author" in body else None
        self._check_post_lists(body)

        def apply() -> None:
            data = record.data
            if author is not None:
                data["author"] = author
            self._apply_post_fields(data, body)
            if status == "published" and not data.get("published"):
                data["published"] = now_iso()
            data["status"] = record.status = status
            data["updated"] = now_iso()

        return apply

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

    def item_json(self, record: CollectionItemRecord, locale: str | None) -> JSON:
        """An item as the read API shows it."""
        return {"meta": {"id": record.id}, **record.fields.get(self._locale(locale), {})}

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
        resolved = self._locale(locale)
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
        self, key: str, item_id: int, body: Any, locale: str | None
    ) -> Callable[[], None]:
        """Check a collection item PATCH/PUT; return the mutation to apply."""
        schema = self.collection(key)
        record = self.items[key].get(item_id)
        if record is None:
            raise StoreError(404, NOT_FOUND)
        body = _require_object(body)
        status = _status(body, default=record.status)
        changes = self._split_locales(body.get("fields", {}), locale)
        for fields in changes.values():
            check_field_keys(fields, schema.fields, complete=False)

        def apply() -> None:
            for loc, fields in changes.items():
                record.fields.setdefault(loc, {}).update(json_copy(fields))
            record.status = status

        return apply


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
