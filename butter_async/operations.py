"""Write operations for the bulk writer: one class per create, update and delete."""

from __future__ import annotations

import hashlib
from collections.abc import Coroutine, Mapping
from typing import Any, ClassVar, Protocol

import attrs
import orjson

from .arguments import PublishStatus
from .errors import ConfigurationError, InvalidOperationError
from .models.typed_fields import write_fields, write_fields_or_none
from .resources.collections import item_create, item_delete, item_update
from .resources.pages import page_create, page_delete, page_update
from .resources.posts import PostChanges, PostFields, post_create, post_delete, post_update
from .writes import WriteCall, WriteResult

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
    "WriteOperation",
]


class WriteClient(Protocol):
    """What an operation needs of a client: a way to send the write it prepares."""

    def send(
        self, call: WriteCall, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]: ...


DEFAULT_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


class WriteOperation:
    """What every operation does with the write its `prepare()` builds."""

    __slots__ = ()

    def prepare(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> WriteCall:
        """The write to send, checked and encoded; InvalidOperationError if it cannot be
        sent (its body over `max_bytes` included)."""
        try:
            call = self.build()
        except InvalidOperationError:
            raise
        except ConfigurationError as error:  # the builders' one error, said once as ours
            raise InvalidOperationError(str(error)) from None
        return _within(call, max_bytes)

    def build(self) -> WriteCall:
        """The write, its arguments checked (ConfigurationError if not)."""
        raise NotImplementedError

    def validate(self, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        """Raise InvalidOperationError if the operation cannot be sent."""
        self.prepare(max_bytes)

    def execute(
        self, butter: WriteClient, *, check_first: bool = False
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send the operation (a coroutine to await). `check_first` looks for a create's
        object before sending it, for resumed jobs; updates and deletes ignore it."""
        return butter.send(self.prepare(), check_first=check_first)


def _within(call: WriteCall, max_bytes: int) -> WriteCall:
    """`call`, unless its body is over `max_bytes`."""
    size = len(call.content or b"")
    if size > max_bytes:
        raise InvalidOperationError(f"payload of {size} bytes exceeds the {max_bytes}-byte limit")
    return call


def _canonical_digest(value: Any) -> str:
    try:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        raw = repr(value).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@attrs.frozen
class CreatePage(WriteOperation):
    """Create a page of a page type."""

    page_type: str
    slug: str
    title: str
    fields: Mapping[str, Any] = attrs.field(converter=write_fields)
    status: PublishStatus = "draft"
    locale: str | None = None
    name: ClassVar[str] = "create_page"

    @property
    def key(self) -> str:
        """The identity of this operation within a job (and its journal)."""
        return f"page:{self.slug}"

    def build(self) -> WriteCall:
        """The page create to send."""
        return page_create(
            self.page_type,
            self.slug,
            self.title,
            self.fields,
            status=self.status,
            locale=self.locale,
        )


@attrs.frozen
class UpdatePage(WriteOperation):
    """Partially update a page."""

    slug: str
    fields: Mapping[str, Any] | None = attrs.field(default=None, converter=write_fields_or_none)
    page_type: str = "*"
    status: PublishStatus | None = None
    locale: str | None = None
    method: str = "PATCH"
    name: ClassVar[str] = "update_page"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"page-update:{self.slug}:{_canonical_digest([self.fields, self.status])}"

    def build(self) -> WriteCall:
        """The page update to send."""
        return page_update(
            self.page_type,
            self.slug,
            fields=self.fields,
            status=self.status,
            locale=self.locale,
            method=self.method,
        )


@attrs.frozen
class DeletePage(WriteOperation):
    """Delete a page."""

    slug: str
    page_type: str = "*"
    name: ClassVar[str] = "delete_page"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"page-delete:{self.slug}"

    def build(self) -> WriteCall:
        """The page delete to send."""
        return page_delete(self.slug, page_type=self.page_type)


@attrs.frozen
class CreatePost(WriteOperation):
    """Create a blog post; `fields` are `posts.create`'s keywords (see `PostFields`)."""

    slug: str
    title: str
    fields: PostFields = attrs.field(factory=lambda: PostFields())
    name: ClassVar[str] = "create_post"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"post:{self.slug}"

    def build(self) -> WriteCall:
        """The post create to send."""
        return post_create(self.slug, self.title, self.fields)


@attrs.frozen
class UpdatePost(WriteOperation):
    """Partially update a blog post; `fields` are what `posts.update` takes (`PostChanges`)."""

    slug: str
    fields: PostChanges
    name: ClassVar[str] = "update_post"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"post-update:{self.slug}:{_canonical_digest(self.fields)}"

    def build(self) -> WriteCall:
        """The post update to send."""
        return post_update(self.slug, self.fields)


@attrs.frozen
class DeletePost(WriteOperation):
    """Delete a blog post."""

    slug: str
    name: ClassVar[str] = "delete_post"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"post-delete:{self.slug}"

    def build(self) -> WriteCall:
        """The post delete to send."""
        return post_delete(self.slug)


@attrs.frozen
class CreateItem(WriteOperation):
    """Create a collection item; `ref` names it in the journal (default: its content).

    `match_on` names the field that identifies an item (see `collections.create_item`):
    an item with the same value is not created again.
    """

    collection: str
    fields: Mapping[str, Any] = attrs.field(converter=write_fields)
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

    def build(self) -> WriteCall:
        """The item create to send."""
        return item_create(
            self.collection,
            self.fields,
            status=self.status,
            locale=self.locale,
            match_on=self.match_on,
        )


@attrs.frozen
class UpdateItem(WriteOperation):
    """Partially update a collection item."""

    collection: str
    item_id: int
    fields: Mapping[str, Any] | None = attrs.field(default=None, converter=write_fields_or_none)
    status: PublishStatus | None = None
    locale: str | None = None
    name: ClassVar[str] = "update_item"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        digest = _canonical_digest([self.fields, self.status])
        return f"item-update:{self.collection}:{self.item_id}:{digest}"

    def build(self) -> WriteCall:
        """The item update to send."""
        return item_update(
            self.collection, self.item_id, self.fields, status=self.status, locale=self.locale
        )


@attrs.frozen
class DeleteItem(WriteOperation):
    """Delete a collection item."""

    collection: str
    item_id: int
    name: ClassVar[str] = "delete_item"

    @property
    def key(self) -> str:
        """The identity of this operation within a job."""
        return f"item-delete:{self.collection}:{self.item_id}"

    def build(self) -> WriteCall:
        """The item delete to send."""
        return item_delete(self.collection, self.item_id)


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
