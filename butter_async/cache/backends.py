"""Where cached reads live: in this process or in Redis, both on the cashews library.

A backend stores opaque entries under keys and one token per tag. Invalidating a tag
writes a new random token; an entry remembers the tokens its tags had when it was
fetched, so it is stale as soon as one differs. Nothing is scanned or deleted, and an
evicted token only ever makes an entry stale (never fresh again).
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigurationError
from .entries import Lookup

if TYPE_CHECKING:
    from cashews.backends.memory import Memory

DEFAULT_TTL = 60.0
DEFAULT_STALE_WHILE_REVALIDATE = 300.0
DEFAULT_STALE_IF_ERROR = 86400.0


def not_negative(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ConfigurationError(f"{attribute.name} must not be negative")


def positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ConfigurationError(f"{attribute.name} must be positive")


def memory_store(size: int) -> Memory:
    """cashews' in-process LRU store with expiry, holding at most `size` keys."""
    try:
        from cashews.backends.memory import Memory
    except ImportError:
        raise ConfigurationError(
            "the read cache needs cashews: pip install 'butter-async[cache]'"
        ) from None
    # check_interval=0: expired keys go when read or evicted, not by a sweeper task that
    # walks every key each second.
    return Memory(size=size, check_interval=0)


def new_token() -> bytes:
    return secrets.token_hex(8).encode()


@attrs.define(kw_only=True)
class CacheBackend(abc.ABC):
    """Where cached reads are kept, and for how long they are served: fresh for `ttl`
    seconds; then, for `stale_while_revalidate` more, served at once while one refresh
    runs behind it; and, for `stale_if_error` seconds past `ttl`, served when ButterCMS
    fails (5xx, timeout, 429). Preview/draft reads are cached only with
    `cache_preview=True`. After its store fails (Redis down or hanging), reads skip the
    cache for `backend_retry_after` seconds rather than wait on it again.

    A page or collection item webhook makes every page and collection read stale, since
    reference fields embed pages and items in others; with `content_references=False`
    (content without reference fields) it makes stale only the reads of what it names.
    """

    ttl: float = attrs.field(default=DEFAULT_TTL, validator=positive)
    stale_while_revalidate: float = attrs.field(
        default=DEFAULT_STALE_WHILE_REVALIDATE, validator=not_negative
    )
    stale_if_error: float = attrs.field(default=DEFAULT_STALE_IF_ERROR, validator=not_negative)
    cache_preview: bool = False
    content_references: bool = True
    backend_retry_after: float = attrs.field(default=5.0, validator=not_negative)

    @property
    def lifetime(self) -> float:
        """How long an entry may be of use at all (fresh, or stale under a rule)."""
        return self.ttl + max(self.stale_while_revalidate, self.stale_if_error)

    @abc.abstractmethod
    async def lookup(self, key: str, token_keys: Sequence[str]) -> Lookup:
        """The entry under `key` (or None) and the current token of each tag."""

    @abc.abstractmethod
    async def store(self, key: str, entry: bytes) -> None:
        """Keep `entry` under `key` for `lifetime` seconds."""

    @abc.abstractmethod
    async def discard(self, key: str) -> None:
        """Remove the entry under `key` (and this process's copy of it)."""

    @abc.abstractmethod
    async def keep_local(self, key: str, entry: bytes, fresh_for: float) -> None:
        """Keep a copy of a fresh shared entry in this process, if the backend does."""

    @abc.abstractmethod
    async def renew(self, token_keys: Sequence[str]) -> None:
        """Give each tag a new token, making every entry that carries it stale. A token
        is kept for `lifetime` seconds: past that no entry fetched before it is left."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the backend opens them again when next used."""


@attrs.define(kw_only=True)
class MemoryCache(CacheBackend):
    """An in-process cache: at most `max_entries` entries of at most `max_entry_bytes`
    each (larger answers are not cached), so it never holds more than their product.
    """

    max_entries: int = attrs.field(default=1000, validator=positive)
    max_entry_bytes: int = attrs.field(default=1024 * 1024, validator=positive)
    _entries: Memory | None = attrs.field(default=None, init=False, repr=False)
    _tokens: Memory | None = attrs.field(default=None, init=False, repr=False)
    _renewed: bool = attrs.field(default=False, init=False, repr=False)

    def _open(self) -> tuple[Memory, Memory]:
        if self._entries is None or self._tokens is None:
            self._entries = memory_store(self.max_entries)
            self._tokens = memory_store(max(10_000, 4 * self.max_entries))
        return self._entries, self._tokens

    async def lookup(self, key: str, token_keys: Sequence[str]) -> Lookup:
        entries, tokens = self._open()
        entry: Any = await entries.get(key)
        if not self._renewed:  # no tag was ever renewed: every token is still unset
            return Lookup(entry, [None] * len(token_keys), True)
        current: Any = await tokens.get_many(*token_keys)
        return Lookup(entry, list(current), True)

    async def keep_local(self, key: str, entry: bytes, fresh_for: float) -> None:
        """Nothing to do: every entry is this process's own."""

    async def store(self, key: str, entry: bytes) -> None:
        if len(entry) <= self.max_entry_bytes:
            await self._open()[0].set(key, entry, expire=self.lifetime)

    async def discard(self, key: str) -> None:
        await self._open()[0].delete(key)

    async def renew(self, token_keys: Sequence[str]) -> None:
        tokens = self._open()[1]
        self._renewed = True
        for token_key in token_keys:
            await tokens.set(token_key, new_token(), expire=self.lifetime)

    async def close(self) -> None:
        for cache in (self._entries, self._tokens):
            if cache is not None:
                # untyped in cashews 7.4.0 (our minimum), typed in later releases
                await cache.close()  # type: ignore[no-untyped-call, unused-ignore]
        self._entries = self._tokens = None
        self._renewed = False
