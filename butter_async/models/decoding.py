"""Decoding an answer's JSON straight into models, with the converter as the fallback."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from types import GenericAlias
from typing import Any, Generic, TypeVar, get_args, get_origin

import msgspec

from ..errors import ResponseValidationError
from .blog import Author, Category, Post, PostDetail, PostSummary, Tag
from .content import Page
from .meta import ListMeta

T = TypeVar("T")

#: Our models, which msgspec decodes exactly as the converter structures them: they have
#: no attrs converters (msgspec does not run them) and their timestamps must carry a
#: zone. A user's own field classes are left to the converter.
_DIRECT: dict[Any, Any] = {
    Post: Post,
    Author: Author,
    Category: Category,
    Tag: Tag,
    Page: Page[dict[str, Any]],
}


class Answer(msgspec.Struct, Generic[T]):
    """An answer decoded straight into models: its `data`, and `meta` for a list."""

    data: T
    meta: ListMeta | None = None


class Neighbours(msgspec.Struct):
    """A post detail's `meta`: the posts before and after it."""

    next_post: PostSummary | None = None
    previous_post: PostSummary | None = None


class PostAnswer(msgspec.Struct):
    """A post detail answer decoded straight into models."""

    data: Post
    meta: Neighbours | None = None


_untyped = msgspec.json.Decoder()


def exact_json(body: bytes) -> Any:
    """Untyped JSON with integers kept exact: orjson reads one beyond 64 bits as a float (a
    silent change), msgspec as an int, at about the same speed. A body that is not JSON,
    or nested too deeply to read, raises a ValueError."""
    try:
        return _untyped.decode(body)
    except msgspec.DecodeError as error:  # a ValueError only from msgspec 0.18.5 on
        raise ValueError(str(error)) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _direct_target(model: Any) -> Any:
    if get_origin(model) is list:
        (item,) = get_args(model)
        return GenericAlias(list, (_DIRECT[item],)) if item in _DIRECT else None
    return _DIRECT.get(model)


@lru_cache(maxsize=64)
def answer_decoder(model: Any) -> Callable[[bytes], Any]:
    """How to decode an answer whose `data` is a `model`: for our own models, in one pass
    into `Answer` (msgspec), or into `PostAnswer` for a `PostDetail`; otherwise, and for
    a body that does not fit strictly, into plain JSON for the converter, with its
    leniency (numbers as text, naive timestamps as UTC) and its account of what does not
    fit.

    A body that is not JSON at all raises a ValueError (`msgspec.DecodeError`).
    """
    if model is PostDetail:
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(PostAnswer)
    elif (target := _direct_target(model)) is not None:
        decoder = msgspec.json.Decoder(Answer[target])  # type: ignore[valid-type]
    else:
        return exact_json

    def decode(body: bytes) -> Any:
        try:
            return decoder.decode(body)
        except (msgspec.DecodeError, RecursionError):  # malformed, or not strictly the model
            return exact_json(body)

    return decode


def envelope(payload: Any) -> dict[str, Any]:
    """The response's JSON object (`data`, `meta`...); anything else is ResponseValidationError."""
    if not isinstance(payload, dict):
        raise ResponseValidationError(
            f"expected a JSON object from the API, got {type(payload).__name__}"
        )
    return payload


def json_body(body: bytes) -> bytes:
    """The body itself if it can be JSON, else a ValueError (an HTML page from a proxy, an
    empty answer), so the request is retried. Whether it is valid JSON is known when it
    is decoded: a list walk decodes each page only when the consumer reaches it."""
    if body.lstrip()[:1] not in _JSON_STARTS:
        raise ValueError("not JSON")
    return body


_JSON_STARTS = {bytes([byte]) for byte in b'{["-0123456789tfn'}
