"""Blog posts: list with filters, get with neighbours, search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, overload

from typing_extensions import Unpack

from ..arguments import PublishStatus, check_method, check_status, is_mapping, require_text
from ..errors import ConfigurationError, ResponseValidationError
from ..models.blog import Post, PostDetail, PostSummary
from ..models.decoding import Neighbours, PostAnswer, answer_decoder, envelope
from ..pagination import (
    AsyncPager,
    ListOptions,
    RawItem,
    SearchOptions,
)
from ..writes import ReadBack, WriteCall, WriteResult, encode_body, shows_scalars
from ._base import SEARCH_KEYWORDS, Resource


class PostFields(TypedDict, total=False):
    """A post's writable fields besides slug and title: `posts.create`'s keywords.

    `published` back-dates a post (a date in the future would schedule it, which the
    Write API refuses); give the author by `author_slug` or `author_email`.
    """

    body: str | None
    summary: str | None
    status: PublishStatus | None
    author_slug: str | None
    author_email: str | None
    categories: Sequence[str] | None
    tags: Sequence[str] | None
    featured_image: str | None
    featured_image_alt: str | None
    seo_title: str | None
    meta_description: str | None
    published: datetime | str | None
    upload_images_to_media_library: bool | None


class PostChanges(PostFields, total=False):
    """What `posts.update` may change: the fields, the title, and the slug (`new_slug`)."""

    title: str | None
    new_slug: str | None


#: What a create may carry besides the slug, and what an update may change.
POST_CREATE_KEYS = frozenset(PostFields.__optional_keys__) | {"title"}
POST_CHANGE_KEYS = frozenset(PostChanges.__optional_keys__)
#: The post fields that are plain text.
POST_TEXT_KEYS = (
    "body",
    "summary",
    "featured_image",
    "featured_image_alt",
    "seo_title",
    "meta_description",
)


class PostsResource(Resource):
    """`butter.posts`: read blog posts."""

    @overload
    def list(
        self,
        *,
        exclude_body: bool = False,
        author_slug: str | None = None,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        raw: Literal[False] = False,
        **options: Unpack[ListOptions],
    ) -> AsyncPager[Post]: ...

    @overload
    def list(
        self,
        *,
        exclude_body: bool = False,
        author_slug: str | None = None,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        raw: Literal[True],
        **options: Unpack[ListOptions],
    ) -> AsyncPager[RawItem]: ...

    def list(
        self,
        *,
        exclude_body: bool = False,
        author_slug: str | None = None,
        category_slug: str | None = None,
        tag_slug: str | None = None,
        preview: bool | None = None,
        locale: str | None = None,
        raw: bool = False,
        **options: Unpack[ListOptions],
    ) -> AsyncPager[Post] | AsyncPager[RawItem]:
        """Stream posts, newest first, optionally filtered by author, category or tag, in
        `locale` on an account with localization.

        `raw=True` yields the API's dicts unstructured, for callers that only pass them on.
        """
        params = {
            "exclude_body": True if exclude_body else None,
            "author_slug": author_slug,
            "category_slug": category_slug,
            "tag_slug": tag_slug,
            "preview": 1 if preview else None,
            "locale": locale,
        }
        return self._pager(
            ["posts"],
            params,
            RawItem if raw else Post,
            options,
        )

    async def get(
        self, slug: str, *, preview: bool | None = None, locale: str | None = None
    ) -> PostDetail:
        """One post by slug, whatever its status (drafts too), with its neighbours.

        `preview` only changes which posts count as next and previous.
        """
        params = {"preview": 1 if preview else None, "locale": locale}
        # structured while decoding, so the cache knows a cached body that does not fit
        detail: PostDetail = await self._transport.get(
            ["posts", slug], params, decode=self._post_detail
        )
        return detail

    def _post_detail(self, body: bytes) -> PostDetail:
        """A post answer's body as a `PostDetail`."""
        answer = answer_decoder(PostDetail)(body)
        if isinstance(answer, PostAnswer):  # decoded straight from the JSON
            neighbours = answer.meta or Neighbours()
            return PostDetail(answer.data, neighbours.next_post, neighbours.previous_post)
        payload = envelope(answer)
        meta = payload.get("meta") or {}
        if not isinstance(meta, dict):
            raise ResponseValidationError(
                f"post response's 'meta' is a {type(meta).__name__}, not an object"
            )
        return PostDetail(
            post=self._structure(payload.get("data"), Post),
            next_post=self._structure(meta.get("next_post"), PostSummary | None),
            previous_post=self._structure(meta.get("previous_post"), PostSummary | None),
        )

    @overload
    def search(
        self,
        query: str,
        *,
        locale: str | None = None,
        raw: Literal[False] = False,
        **options: Unpack[SearchOptions],
    ) -> AsyncPager[Post]: ...

    @overload
    def search(
        self,
        query: str,
        *,
        locale: str | None = None,
        raw: Literal[True],
        **options: Unpack[SearchOptions],
    ) -> AsyncPager[RawItem]: ...

    def search(
        self,
        query: str,
        *,
        locale: str | None = None,
        raw: bool = False,
        **options: Unpack[SearchOptions],
    ) -> AsyncPager[Post] | AsyncPager[RawItem]:
        """Stream the posts matching a full-text `query`, in `locale` if given
        (`raw=True`: the API's dicts)."""
        if not query:
            raise ConfigurationError("search query must not be empty")
        return self._pager(
            ["posts", "search"],
            {"query": query, "locale": locale},
            RawItem if raw else Post,
            options,
            allowed=SEARCH_KEYWORDS,
            stable_order=False,  # ranked by relevance: no position is stable
        )

    async def create(
        self,
        slug: str,
        title: str,
        *,
        check_first: bool = False,
        verify: bool = False,
        verify_timeout: float = 30.0,
        **fields: Unpack[PostFields],
    ) -> WriteResult:
        """Create a blog post (a draft unless `status="published"`); see `PostFields`.

        The author (by slug or email) must exist; categories and tags are names, created
        when missing. `check_first` looks for the post before sending (for resumed jobs);
        `verify` waits until it is readable.
        """
        self._transport.session.require_write_token()
        return await self._send(
            post_create(slug, title, fields),
            check_first=check_first,
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def update(
        self,
        slug: str,
        *,
        method: str = "PATCH",
        verify: bool = False,
        verify_timeout: float = 30.0,
        **changes: Unpack[PostChanges],
    ) -> WriteResult:
        """Partially update a post: only what is given is sent; see `PostChanges`.

        `new_slug` renames the post (its old slug then answers 404); `verify` reads the
        post back under the slug it ends up with.
        """
        self._transport.session.require_write_token()
        call = post_update(slug, changes, method=method)
        sent = call.body or {}
        return await self._send(
            call,
            shows=lambda read: shows_scalars(read.get("data"), sent),
            read_at=("posts", call.key),
            verify=verify,
            verify_timeout=verify_timeout,
        )

    async def delete(self, slug: str) -> WriteResult:
        """Delete a post by slug."""
        self._transport.session.require_write_token()
        return await self._send(post_delete(slug))


def post_create(
    slug: str,
    title: str,
    fields: Mapping[str, Any],
) -> WriteCall:
    """A post create from `PostFields`, its arguments checked (ConfigurationError if not)."""
    require_text(slug=slug, title=title)
    if not is_mapping(fields):
        raise ConfigurationError("fields must be a mapping")
    body = post_body({"status": "draft", **fields, "title": title}, allowed=POST_CREATE_KEYS)
    body["slug"] = slug
    return WriteCall(
        "post",
        slug,
        "POST",
        ("posts",),
        body,
        encode_body(body),
        read_back=ReadBack(("posts", slug)),
    )


def post_update(
    slug: str,
    changes: Mapping[str, Any],
    *,
    method: str = "PATCH",
) -> WriteCall:
    """A post update from `PostChanges` (its key is the slug the post ends up with), its
    arguments checked (a bad one raises ConfigurationError)."""
    require_text(slug=slug)
    verb = check_method(method)
    if not is_mapping(changes):
        raise ConfigurationError("fields must be a mapping")
    given = dict(changes)
    new_slug = given.pop("new_slug", None)
    if new_slug is not None:
        require_text(new_slug=new_slug)
    body = post_body(given)
    if new_slug is not None and new_slug != slug:
        body["slug"] = new_slug
    if not body:
        raise ConfigurationError("nothing to update: give fields and/or status")
    final_slug = body.get("slug", slug)
    return WriteCall("post", final_slug, verb, ("posts", slug), body, encode_body(body))


def post_delete(slug: str) -> WriteCall:
    """A post delete, its arguments checked (ConfigurationError if not)."""
    require_text(slug=slug)
    return WriteCall("post", slug, "DELETE", ("posts", slug))


def post_body(
    fields: Mapping[str, Any],
    *,
    allowed: frozenset[str] = POST_CHANGE_KEYS,
) -> dict[str, Any]:
    """The Write API body of a post from the fields that were given (None means not given).

    Checks what it can before anything is sent, raising ConfigurationError.
    """
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ConfigurationError(
            f"unknown post field(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(allowed))}"
        )
    given = {key: value for key, value in fields.items() if value is not None}
    check_status(given.get("status"))
    author_slug, author_email = given.pop("author_slug", None), given.pop("author_email", None)
    if author_slug and author_email:
        raise ConfigurationError("give the author by slug or by email, not both")
    for key in POST_TEXT_KEYS:
        if key in given and not isinstance(given[key], str):
            raise ConfigurationError(f"{key} must be a string, got {type(given[key]).__name__}")
    if "title" in given:
        require_text(title=given["title"])
    payload: dict[str, Any] = dict(given)
    if author_slug:
        payload["author"] = {"slug": author_slug}
    elif author_email:
        payload["author"] = {"email": author_email}
    for key in ("categories", "tags"):
        names = given.get(key)
        if names is None:
            continue
        if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
            raise ConfigurationError(f"{key} must be a list of non-empty names")
        payload[key] = list(names)
    if "published" in given:
        payload["published"] = published_timestamp(given["published"])
    return payload


def published_timestamp(published: object) -> str:
    """A post's `published` as ISO 8601 with a timezone, refusing dates in the future."""
    when: datetime | None = published if isinstance(published, datetime) else None
    if isinstance(published, str):
        try:
            when = datetime.fromisoformat(published)
        except ValueError:
            when = None
    if when is None or when.tzinfo is None:
        raise ConfigurationError(
            f"published must be an ISO 8601 date-time with a timezone, got {published!r}"
        )
    if when > datetime.now(UTC):
        raise ConfigurationError(
            "published is in the future: scheduling is not supported by the Write API"
        )
    return published if isinstance(published, str) else when.isoformat()
