"""Decoding an answer's JSON straight into models, with the converter as the fallback."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from types import GenericAlias
from typing import Any, Generic, TypeVar, get_args, get_origin

import msgspec
import orjson

from .blog import Author, Category, Post, Tag
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


def _direct_target(model: Any) -> Any:
    if get_origin(model) is list:
        (item,) = get_args(model)
        return GenericAlias(list, (_DIRECT[item],)) if item in _DIRECT else None
    return _DIRECT.get(model)


@lru_cache(maxsize=64)
def answer_decoder(model: Any) -> Callable[[bytes], Any]:
    """How to decode an answer whose `data` is a `model`: for our own models, in one pass
    into `Answer` (msgspec); otherwise, and for a body that does not fit strictly, into
    plain JSON for the converter, with its leniency (numbers as text, naive timestamps as
    UTC) and its account of what does not fit.

    A body that is not JSON at all raises a ValueError (`orjson.JSONDecodeError`).
    """
    target = _direct_target(model)
    if target is None:
        return orjson.loads
    decoder = msgspec.json.Decoder(Answer[target])  # type: ignore[valid-type]

    def decode(body: bytes) -> Any:
        try:
            return decoder.decode(body)
        except (msgspec.DecodeError, RecursionError):  # malformed, or not strictly the model
            return orjson.loads(body)

    return decode


def json_body(body: bytes) -> bytes:
    """The body itself if it can be JSON, else a ValueError (an HTML page from a proxy, an
    empty answer), so the request is retried. Whether it is valid JSON is known when it
    is decoded: a list walk decodes each page only when the consumer reaches it."""
    if body.lstrip()[:1] not in _JSON_STARTS:
        raise ValueError("not JSON")
    return body


_JSON_STARTS = {bytes([byte]) for byte in b'{["-0123456789tfn'}
