"""The blog in the store: posts read, searched and written, with their authors, categories
and tags."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import StoreBase
from .records import (
    JSON,
    NOT_FOUND,
    SCHEDULING_KEYS,
    Change,
    PostRecord,
    StoreError,
    bad_request,
    check_published,
    now_iso,
    publish_status,
    require_object,
    require_slug,
    require_text,
    webhook_action,
)

_POST_TEXT_FIELDS = (
    "title",
    "body",
    "summary",
    "seo_title",
    "meta_description",
    "featured_image",
    "featured_image_alt",
)


class BlogStore(StoreBase):
    """Blog reads and validated post writes."""

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

    def post_json(self, record: PostRecord, locale: str | None) -> JSON:
        """A post as reads show it in `locale`: its translation's text fields over the
        post as written (the default locale's, and any locale it has no translation in)."""
        if not record.locales:
            return record.data
        translated = record.locales.get(self.resolve_locale(locale) or "")
        return {**record.data, **translated} if translated else record.data

    def localize_post(self, slug: str, locale: str, fields: Mapping[str, Any]) -> None:
        """Give the post `slug` a translation into `locale` of its text fields, as an
        editor does in the dashboard (the Write API takes no locale for posts)."""
        record = self.posts.get(slug)
        if record is None:
            raise ValueError(f"no post {slug!r} to translate")
        if locale not in self.locales:
            raise ValueError(f"the account has no locale {locale!r} (locales: {self.locales})")
        unknown = sorted(set(fields) - set(_POST_TEXT_FIELDS))
        if unknown:
            raise ValueError(f"not a post text field: {', '.join(unknown)}")
        record.locales[locale] = {**record.locales.get(locale, {}), **fields}
        self.changed()

    def _searchable(self, record: PostRecord, locale: str | None) -> str:
        data = self.post_json(record, locale)
        parts = ("title", "summary", "body")
        return " ".join(str(data.get(part) or "") for part in parts).lower()

    def search_posts(
        self, query: str, *, preview: bool, locale: str | None = None
    ) -> list[PostRecord]:
        """Posts whose title, summary or body (in `locale`) contains every word of `query`."""
        words = query.lower().split()
        return [
            record
            for record in self.visible_posts(preview=preview, filters={})
            if all(word in self._searchable(record, locale) for word in words)
        ]

    def search_rank(self, record: PostRecord, query: str, locale: str | None = None) -> float:
        """A relevance score in (0, 1]: the share of the post's words that match the query."""
        text = self._searchable(record, locale).split()
        words = set(query.lower().split())
        hits = sum(1 for word in text if any(w in word for w in words))
        return round(hits / max(1, len(text)), 8)

    def post_neighbours(
        self, slug: str, *, preview: bool, locale: str | None = None
    ) -> tuple[JSON | None, JSON | None]:
        """(next_post, previous_post): the newer and the older published neighbour."""
        posts = self.visible_posts(preview=preview, filters={})
        index = next((i for i, record in enumerate(posts) if record.data["slug"] == slug), None)
        if index is None:
            return None, None

        def summary(i: int) -> JSON | None:
            if not 0 <= i < len(posts):
                return None
            data = self.post_json(posts[i], locale)
            return {k: data.get(k) for k in ("slug", "title", "featured_image")}

        return summary(index - 1), summary(index + 1)

    def recent_posts(self, field: str, slug: str, *, limit: int = 10) -> list[JSON]:
        """The latest published posts of an author, category or tag."""
        filters = {f"{field}_slug": slug}
        return [record.data for record in self.visible_posts(preview=False, filters=filters)][
            :limit
        ]

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
        body = require_object(body)
        title = require_text(body, "title")
        slug = require_slug(body)
        if slug in self.posts:
            raise bad_request("slug", f"A post with slug {slug!r} already exists.")
        for key in SCHEDULING_KEYS:
            if key in body:
                raise bad_request(key, "Scheduling is not supported by the Write API.")
        status = publish_status(body)
        published = check_published(body.get("published"))
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
        body = dict(require_object(body))
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
            new_slug = require_slug(body)
            if new_slug in self.posts:
                raise bad_request("slug", f"A post with slug {new_slug!r} already exists.")
        if "title" in body:
            require_text(body, "title")
        status = publish_status(body, default=record.status)
        published = check_published(body.get("published"))
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
            action = webhook_action(was, status)
            return [self.post_change(record, "draft" if action == "unpublished" else action)]

        return apply, warnings

    def _apply_post_fields(self, data: JSON, body: JSON) -> None:
        self._check_post_lists(body)
        for key in _POST_TEXT_FIELDS:
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
        for key in _POST_TEXT_FIELDS:
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
