"""Where cached reads live: in this process or in Redis, both on the cashews library.

A backend stores opaque entries under keys and one token per tag. Invalidating a tag
writes a new random token; an entry remembers the tokens its tags had when it was
fetched, so it is stale as soon as one differs. Nothing is scanned or deleted, an
evicted token only ever makes an entry stale (never fresh again), and with Redis every
worker sees a renewal at once.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from yarl import URL

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from cashews import Cache

DEFAULT_TTL = 60.0
DEFAULT_STALE_WHILE_REVALIDATE = 300.0
DEFAULT_STALE_IF_ERROR = 86400.0


def _not_negative(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ConfigurationError(f"{attribute.name} must not be negative")


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ConfigurationError(f"{attribute.name} must be positive")


def _cashews_cache() -> Cache:
    try:
        from cashews import Cache
    except ImportError:
        raise ConfigurationError(
            "the read cache needs cashews: pip install 'butter-async[cache]'"
        ) from None
    return Cache()


def _new_token() -> bytes:
    return secrets.token_hex(8).encode()


@attrs.define(kw_only=True)
class CacheSettings:
    """How long a cached read is served: fresh for `ttl` seconds; then, for
    `stale_while_revalidate` more, served at once while one refresh runs behind it; and,
    for `stale_if_error` seconds past `ttl`, served when ButterCMS fails (5xx, timeout,
    429). Preview/draft reads are cached only with `cache_preview=True`.
    """

    ttl: float = attrs.field(default=DEFAULT_TTL, validator=_positive)
    stale_while_revalidate: float = attrs.field(
        default=DEFAULT_STALE_WHILE_REVALIDATE, validator=_not_negative
    )
    stale_if_error: float = attrs.field(default=DEFAULT_STALE_IF_ERROR, validator=_not_negative)
    cache_preview: bool = False

    #: Whether other processes read and invalidate the same entries.
    shared: ClassVar[bool] = False

    @property
    def lifetime(self) -> float:
        """How long an entry may be of use at all (fresh, or stale under a rule)."""
        return self.ttl + max(self.stale_while_revalidate, self.stale_if_error)

    async def lookup(
        self, key: str, token_keys: Sequence[str]
    ) -> tuple[bytes | None, list[bytes | None]]:
        """The entry under `key` (or None) and the current token of each tag."""
        raise NotImplementedError

    async def store(self, key: str, entry: bytes) -> None:
        """Keep `entry` under `key` for `lifetime` seconds."""
        raise NotImplementedError

    async def renew(self, token_keys: Sequence[str]) -> None:
        """Give each tag a new token, making every entry that carries it stale."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections; the backend opens them again when next used."""


@attrs.define(kw_only=True)
class MemoryCache(CacheSettings):
    """An in-process cache: at most `max_entries` entries of at most `max_entry_bytes`
    each (larger answers are not cached), so it never holds more than their product.
    """

    max_entries: int = attrs.field(default=1000, validator=_positive)
    max_entry_bytes: int = attrs.field(default=1024 * 1024, validator=_positive)
    _entries: Cache | None = attrs.field(default=None, init=False, repr=False)
    _tokens: Cache | None = attrs.field(default=None, init=False, repr=False)

    def _open(self) -> tuple[Cache, Cache]:
        if self._entries is None or self._tokens is None:
            # check_interval=0: expired entries go when read or evicted, not by a sweeper
            # task that walks every key each second.
            self._entries = _cashews_cache()
            self._entries.setup(f"mem://?size={self.max_entries}&check_interval=0")
            self._tokens = _cashews_cache()
            self._tokens.setup(f"mem://?size={max(10_000, 4 * self.max_entries)}&check_interval=0")
        return self._entries, self._tokens

    async def lookup(
        self, key: str, token_keys: Sequence[str]
    ) -> tuple[bytes | None, list[bytes | None]]:
        entries, tokens = self._open()
        entry: Any = await entries.get(key)
        current: Any = await tokens.get_many(*token_keys) if token_keys else ()
        return entry, list(current)

    async def store(self, key: str, entry: bytes) -> None:
        if len(entry) <= self.max_entry_bytes:
            await self._open()[0].set(key, entry, expire=self.lifetime)

    async def renew(self, token_keys: Sequence[str]) -> None:
        tokens = self._open()[1]
        for token_key in token_keys:
            await tokens.set(token_key, _new_token(), expire=self.lifetime)

    async def close(self) -> None:
        for cache in (self._entries, self._tokens):
            if cache is not None:
                await cache.close()
        self._entries = self._tokens = None


def _redacted_url(url: str) -> str:
    parsed = URL(url)
    return repr(str(parsed.with_password("REDACTED") if parsed.password else parsed))


def _redis_url(_instance: object, _attribute: attrs.Attribute[str], url: str) -> None:
    if URL(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError("the Redis URL must start with redis://, rediss:// or unix://")


@attrs.define(kw_only=True)
class RedisCache(CacheSettings):
    """A cache in Redis, shared by every worker and machine that points at it: an entry
    fetched by one is a hit for all, and an invalidation received by one clears it for
    all. Keys start with `prefix`; values are the API's JSON, never pickles.
    """

    url: str = attrs.field(validator=_redis_url, repr=_redacted_url)
    prefix: str = "butter:"
    max_connections: int = attrs.field(default=50, validator=_positive)
    socket_timeout: float = attrs.field(default=1.0, validator=_positive)
    _redis: Cache | None = attrs.field(default=None, init=False, repr=False)

    shared: ClassVar[bool] = True

    def _open(self) -> Cache:
        if self._redis is None:
            try:
                import redis  # noqa: F401  (cashews needs it for redis:// URLs)
            except ImportError:
                raise ConfigurationError(
                    "the Redis cache needs redis-py: pip install 'butter-async[redis]'"
                ) from None
            cache = _cashews_cache()
            cache.setup(
                self.url,
                prefix=self.prefix,
                pickle_type="null",
                suppress=False,
                max_connections=self.max_connections,
                socket_timeout=self.socket_timeout,
                socket_connect_timeout=self.socket_timeout,
                client_name="butter-async",
            )
            self._redis = cache
        return self._redis

    async def lookup(
        self, key: str, token_keys: Sequence[str]
    ) -> tuple[bytes | None, list[bytes | None]]:
        # one MGET: the entry and its tags' tokens in a single round trip
        values: Any = await self._open().get_many(self.prefix + key, *self._keys(token_keys))
        return values[0], list(values[1:])

    async def store(self, key: str, entry: bytes) -> None:
        await self._open().set(self.prefix + key, entry, expire=self.lifetime)

    async def renew(self, token_keys: Sequence[str]) -> None:
        redis = self._open()
        await redis.set_many(
            {key: _new_token() for key in self._keys(token_keys)}, expire=self.lifetime
        )

    async def close(self) -> None:
        if self._redis is not None:
            redis, self._redis = self._redis, None
            with warnings.catch_warnings():
                # cashews closes redis-py's client with close(), which redis-py 5 deprecates
                # in favour of aclose(); the warning is theirs, not a user's to act on.
                warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
                await redis.close()

    def _keys(self, token_keys: Sequence[str]) -> list[str]:
        return [self.prefix + key for key in token_keys]
