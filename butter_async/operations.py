"""Write operations for the bulk writer: one class per create, update and delete."""

from __future__ import annotations

import hashlib
from collections.abc import Coroutine, Mapping
from typing import Any, ClassVar, Protocol

import attrs
import orjson

from .arguments import PublishStatus, is_mapping, require_text
from .errors import InvalidOperationError
from .resources import CollectionsResource, PagesResource, PostsResource
from .resources.collections import one_locale
from .resources.posts import (
    POST_CHANGE_KEYS,
    POST_CREATE_KEYS,
    PostChanges,
    PostFields,
    post_body,
)
from .writes import WriteResult

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "CreateItem",
    "CreatePage",
    "CreatePost",
    "DeleteItem",
    "DeletePage",
    "DeletePost",
    "Operation",
    "UpdateItem",
    "UpdatePage",
    "UpdatePost",
    "WriteClient",
]


class WriteClient(Protocol):
    """What an operation needs of a client: the resources it writes through."""

    pages: PagesResource
    posts: PostsResource
    collections: CollectionsResource


DEFAULT_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


def _check_payload(payload: Any, max_bytes: int) -> None:
    try:
        size = len(orjson.dumps(payload))
    except TypeError as error:
        raise InvalidOperationError(f"payload is not JSON-serialisable: {error}") from None
    if size > max_bytes:
        raise InvalidOperationError(f"payload of {size} bytes exceeds the {max_bytes}-byte limit")


def _canonical_digest(value: Any) -> str:
    try:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        raw = repr(value).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@attrs.frozen
class CreatePage:
    """Create a page of a page type."""

    page_type: str
    slug: str
    title: str
    fields: Mapping[str, Any]
    status: PublishStatus = "draft"
    locale: str | None = None
    name: ClassVar[str] = "create_page"

    @property
    def key(self) -> str:
        """The identity of this operation within a job (and its journal)."""
        return f"page:{self.slug}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(
            error=InvalidOperationError, page_type=self.page_type, slug=self.slug, title=self.title
        )
        if not is_mapping(self.fields):
            raise InvalidOperationError("fields must be an object")
        _check_payload(self.fields, max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation through the client's resources (a coroutine to await)."""
        return butter.pages.create(
            self.page_type,
            self.slug,
            self.title,
            self.fields,
            status=self.status,
            locale=self.locale,
            check_first=check_first,
        )


@attrs.frozen
class UpdatePage:
    """Partially update a page."""

    slug: str
    fields: Mapping[str, Any] | None = None
    page_type: str = "*"
    status: PublishStatus | None = None
    locale: str | None = None
    method: str = "PATCH"
    name: ClassVar[str] = "update_page"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"page-update:{self.slug}:{_canonical_digest([self.fields, self.status])}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, page_type=self.page_type, slug=self.slug)
        if self.fields is None and self.status is None:
            raise InvalidOperationError("nothing to update: give fields and/or status")
        _check_payload(self.fields, max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation, a coroutine to await (updates are idempotent, so `check_first`
        changes nothing)."""
        return butter.pages.update(
            self.page_type,
            self.slug,
            fields=self.fields,
            status=self.status,
            locale=self.locale,
            method=self.method,
        )


@attrs.frozen
class DeletePage:
    """Delete a page."""

    slug: str
    page_type: str = "*"
    name: ClassVar[str] = "delete_page"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"page-delete:{self.slug}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, page_type=self.page_type, slug=self.slug)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.pages.delete(self.slug, page_type=self.page_type)


def _check_post_fields(fields: Mapping[str, Any], allowed: frozenset[str], max_bytes: int) -> None:
    if not is_mapping(fields):
        raise InvalidOperationError("fields must be an object")
    post_body(fields, allowed=allowed, error=InvalidOperationError)
    _check_payload(dict(fields), max_bytes)


@attrs.frozen
class CreatePost:
    """Create a blog post; `fields` are `posts.create`'s keywords (see `PostFields`)."""

    slug: str
    title: str
    fields: PostFields = attrs.field(factory=lambda: PostFields())
    name: ClassVar[str] = "create_post"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"post:{self.slug}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, slug=self.slug, title=self.title)
        _check_post_fields({**self.fields, "title": self.title}, POST_CREATE_KEYS, max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.posts.create(self.slug, self.title, check_first=check_first, **self.fields)


@attrs.frozen
class UpdatePost:
    """Partially update a blog post; `fields` are what `posts.update` takes (`PostChanges`)."""

    slug: str
    fields: PostChanges
    name: ClassVar[str] = "update_post"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"post-update:{self.slug}:{_canonical_digest(self.fields)}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, slug=self.slug)
        if not self.fields:
            raise InvalidOperationError("nothing to update")
        _check_post_fields(self.fields, POST_CHANGE_KEYS, max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.posts.update(self.slug, **self.fields)


@attrs.frozen
class DeletePost:
    """Delete a blog post."""

    slug: str
    name: ClassVar[str] = "delete_post"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"post-delete:{self.slug}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, slug=self.slug)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.posts.delete(self.slug)


@attrs.frozen
class CreateItem:
    """Create a collection item; `ref` names it in the journal (default: its content).

    `match_on` names the field that identifies an item (see `collections.create_item`):
    an item with the same value is not created again.
    """

    collection: str
    fields: Mapping[str, Any]
    status: PublishStatus = "draft"
    locale: str | None = None
    ref: str | None = None
    match_on: str | None = None
    name: ClassVar[str] = "create_item"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        identity = self.ref or _canonical_digest([self.fields, self.locale])
        return f"item:{self.collection}:{identity}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, collection=self.collection)
        if not is_mapping(self.fields) or not self.fields:
            raise InvalidOperationError("fields must be a non-empty object")
        if self.match_on is not None:
            _locale, flat = one_locale(self.fields, self.locale)
            if flat.get(self.match_on) in (None, ""):
                raise InvalidOperationError(
                    f"{self.match_on}: is required to match existing items (--match-on)"
                )
        _check_payload(self.fields, max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.collections.create_item(
            self.collection,
            self.fields,
            status=self.status,
            locale=self.locale,
            match_on=self.match_on,
            check_first=check_first,
        )


@attrs.frozen
class UpdateItem:
    """Partially update a collection item."""

    collection: str
    item_id: int
    fields: Mapping[str, Any] | None = None
    status: PublishStatus | None = None
    locale: str | None = None
    name: ClassVar[str] = "update_item"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        digest = _canonical_digest([self.fields, self.status])
        return f"item-update:{self.collection}:{self.item_id}:{digest}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, collection=self.collection)
        if self.fields is None and self.status is None:
            raise InvalidOperationError("nothing to update: give fields and/or status")
        _check_payload(self.fields, max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.collections.update_item(
            self.collection,
            self.item_id,
            self.fields,
            status=self.status,
            locale=self.locale,
        )


@attrs.frozen
class DeleteItem:
    """Delete a collection item."""

    collection: str
    item_id: int
    name: ClassVar[str] = "delete_item"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"item-delete:{self.collection}:{self.item_id}"

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        require_text(error=InvalidOperationError, collection=self.collection)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await)."""
        return butter.collections.delete_item(self.collection, self.item_id)


Operation = (
    CreatePage
    | UpdatePage
    | DeletePage
    | CreatePost
    | UpdatePost
    | DeletePost
    | CreateItem
    | UpdateItem
    | DeleteItem
)
