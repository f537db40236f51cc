"""How a read is addressed in a store (keys and tag tokens) and how its entry is laid out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote

import attrs
import orjson

from .tags import read_tags


@attrs.frozen
class Address:
    """Where one read lives: its in-flight key, cache key and tag token keys."""

    path: str
    flight: str
    key: str
    token_keys: tuple[str, ...]
    preview: bool


def token_key(account: str, tag: str) -> str:
    return f"{account}:t:{_escaped(tag)}"


def _escaped(part: str) -> str:
    """`part` percent-encoded down to letters, digits and `-._~`, so that no separator of
    a key (`/ ? & = :`) can come from inside a part."""
    return quote(part, safe="")


@lru_cache(maxsize=8192)
def address_of(
    account: str, segments: tuple[str | int, ...], query: tuple[tuple[str, str], ...]
) -> Address:
    """The address of a read, worked out once per distinct read (a page view's hot path).

    Every path segment, parameter name and value is percent-encoded before they are
    joined, so two different reads never share a key, whatever a filter value holds.
    """
    path = "/".join(_escaped(str(segment)) for segment in segments)
    flight = path + "?" + "&".join(f"{_escaped(k)}={_escaped(v)}" for k, v in sorted(query))
    tags = read_tags(segments, dict(query))
    token_keys = tuple(token_key(account, tag) for tag in tags)
    preview = any(name == "preview" for name, _ in query)
    return Address(path, flight, f"{account}:r:{flight}", token_keys, preview)


class Entry(NamedTuple):
    """A cached answer: when it was stored, its tags' tokens then, and the body."""

    stored_at: float
    tokens: list[str | None]
    body: bytes


def _text(token: bytes | None) -> str | None:
    return token.decode("utf-8", "replace") if token is not None else None


def same_tokens(recorded: list[str | None], current: Sequence[bytes | None]) -> bool:
    """Whether an entry's tags still have the tokens it was fetched under."""
    if not any(current):  # no tag of it was ever invalidated: the common case
        return not any(recorded)
    return recorded == [_text(token) for token in current]


#: Starts every entry, so an entry of an older layout (or not ours) reads as a miss.
_LAYOUT = b"butter_async:2\n"


def encode_entry(stored_at: float, tokens: Sequence[bytes | None], body: bytes) -> bytes:
    """The entry: a line of JSON with its age and tag tokens, then the body as it came,
    so a hit decodes the body straight into the caller's models."""
    header = orjson.dumps({"at": stored_at, "tokens": [_text(token) for token in tokens]})
    return b"".join((_LAYOUT, header, b"\n", body))


def decode_entry(raw: bytes) -> Entry | None:
    """The entry `raw` holds, or None if it is not an entry of this layout."""
    if not raw.startswith(_LAYOUT):
        return None
    header, newline, body = raw[len(_LAYOUT) :].partition(b"\n")
    try:
        fields = orjson.loads(header)
        entry = Entry(fields["at"], fields["tokens"], body)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not newline or not isinstance(entry.stored_at, int | float):
        return None
    if not isinstance(entry.tokens, list):
        return None
    return entry


class Lookup(NamedTuple):
    """What a backend found: the entry (or None), its tags' tokens, and whether the entry
    is this process's copy (no network was used). A tuple: one is made per page view."""

    entry: bytes | None
    tokens: list[bytes | None]
    local: bool = False
