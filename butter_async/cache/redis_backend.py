"""The Redis cache: entries and tag tokens in Redis, shared by every worker.

So that a hit costs no network round trip, each process keeps copies of fresh entries
and a mirror of the tag tokens it has read. Renewing tokens writes them and publishes
them on one pub/sub channel in a single transaction; every process applies what it
hears to its mirror. A token is mirrored only while subscribed and only if no renewal
arrived while it was being read, and the whole mirror is dropped when the subscription
drops, so a process never trusts a token it could have missed a renewal of.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from ..redis_client import check_redis_url, redacted_url, redis_client
from .backends import CacheBackend, memory_store, new_token, positive
from .entries import Lookup

if TYPE_CHECKING:
    from cashews.backends.memory import Memory
    from redis.asyncio import Redis

logger = logging.getLogger("butter_async.cache")

#: How often an idle subscription is checked with a PING, and how many missed answers
#: mean it is gone.
HEARTBEAT = 5.0
MISSED_HEARTBEATS = 3
RECONNECT_DELAY = 1.0
#: The mirror is dropped (and refilled as reads need it) when it grows past this.
MAX_MIRRORED_TOKENS = 100_000


@attrs.define(kw_only=True)
class RedisCache(CacheBackend):
    """A cache in Redis, shared by every worker and machine that points at it: an entry
    fetched by one is a hit for all, and an invalidation received by one clears it for
    all. Keys start with `prefix`; values are the API's JSON, never pickles. Talks to
    Redis through redis-py's asyncio client.

    With `local_copies` (the default) each process also keeps up to `local_entries`
    fresh entries and answers hits from them without a round trip, staying exact
    through the renewals it hears on Redis pub/sub.
    """

    url: str = attrs.field(validator=check_redis_url, repr=redacted_url)
    prefix: str = "butter:"
    max_connections: int = attrs.field(default=50, validator=positive)
    socket_timeout: float = attrs.field(default=1.0, validator=positive)
    local_copies: bool = True
    local_entries: int = attrs.field(default=1000, validator=positive)
    _redis: Redis | None = attrs.field(default=None, init=False, repr=False)
    _local: Memory | None = attrs.field(default=None, init=False, repr=False)
    _listener: asyncio.Task[None] | None = attrs.field(default=None, init=False, repr=False)
    _mirror: dict[str, bytes | None] = attrs.field(factory=dict, init=False, repr=False)
    _mirror_epoch: int = attrs.field(default=0, init=False, repr=False)
    _listening: bool = attrs.field(default=False, init=False, repr=False)

    @property
    def hearing_renewals(self) -> bool:
        """Whether this process is subscribed to renewals (and so may answer from copies)."""
        return self._listening

    @property
    def channel(self) -> str:
        """The pub/sub channel renewals are published on."""
        return self.prefix + "renewals"

    async def lookup(self, key: str, token_keys: Sequence[str]) -> Lookup:
        self._start_listening()
        if self._listening:
            known = [self._mirror.get(token_key, b"?") for token_key in token_keys]
            if b"?" not in known and self._local is not None:
                copy: Any = await self._local.get(key)
                if copy is not None:
                    return Lookup(copy, known, True)
        epoch = self._mirror_epoch
        # one MGET: the entry and its tags' tokens in a single round trip
        values: list[Any] = await self._open().mget([self.prefix + key, *self._keys(token_keys)])
        tokens = list(values[1:])
        if self._listening and epoch == self._mirror_epoch:
            if len(self._mirror) > MAX_MIRRORED_TOKENS:
                self._mirror.clear()
            self._mirror.update(zip(token_keys, tokens, strict=True))
        return Lookup(values[0], tokens)

    async def store(self, key: str, entry: bytes) -> None:
        await self._open().set(self.prefix + key, entry, px=int(self.lifetime * 1000))

    async def discard(self, key: str) -> None:
        await self._open().delete(self.prefix + key)
        if self._local is not None:
            await self._local.delete(key)

    async def keep_local(self, key: str, entry: bytes, fresh_for: float) -> None:
        if self._local is not None and fresh_for > 0:
            await self._local.set(key, entry, expire=fresh_for)

    async def renew(self, token_keys: Sequence[str]) -> None:
        tokens = {token_key: new_token() for token_key in token_keys}
        # A token outlives every entry fetched before it was set (entries live `lifetime`
        # too), so its expiry can only make an entry stale, never fresh again; and tags an
        # outsider made up cannot pile up in Redis.
        lifetime_ms = int(self.lifetime * 1000)
        async with self._open().pipeline(transaction=True) as pipeline:
            for key, token in tokens.items():
                pipeline.set(self.prefix + key, token, px=lifetime_ms)
            pipeline.publish(
                self.channel, orjson.dumps({key: token.decode() for key, token in tokens.items()})
            )
            await pipeline.execute()
        if self._listening:  # this process knows them now, before it hears its own message
            self._mirror_epoch += 1
            self._mirror.update(tokens)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        redis, self._redis = self._redis, None
        if redis is not None:
            await redis.aclose()
        local, self._local = self._local, None
        if local is not None:
            await local.close()  # type: ignore[no-untyped-call, unused-ignore]  # cashews 7.4.0

    def _open(self) -> Redis:
        if self._redis is None:
            self._redis = redis_client(
                self.url,
                socket_timeout=self.socket_timeout,
                connect_timeout=self.socket_timeout,
                max_connections=self.max_connections,
            )
        return self._redis

    def _keys(self, token_keys: Sequence[str]) -> list[str]:
        return [self.prefix + key for key in token_keys]

    def _start_listening(self) -> None:
        if not self.local_copies or self._listener is not None:
            return
        self._local = memory_store(self.local_entries)
        self._listener = asyncio.get_running_loop().create_task(self._listen())

    def _forget_mirror(self) -> None:
        self._listening = False
        self._mirror.clear()
        self._mirror_epoch += 1

    async def _listen(self) -> None:
        """Keep the mirror in step with the renewals channel, resubscribing when it drops."""
        while True:
            client = redis_client(
                self.url,
                socket_timeout=None,
                connect_timeout=self.socket_timeout,
                max_connections=1,
            )
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                heard = time.monotonic()
                while time.monotonic() - heard < HEARTBEAT * MISSED_HEARTBEATS:
                    message = await pubsub.get_message(timeout=HEARTBEAT)
                    if message is None:
                        await pubsub.ping()
                        continue
                    heard = time.monotonic()
                    self._hear(message)
                logger.warning("the cache's Redis subscription went quiet; resubscribing")
            except Exception as error:  # any failure: drop the mirror, retry
                logger.warning("the cache's Redis subscription failed: %s", type(error).__name__)
            finally:
                self._forget_mirror()
                # untyped in early redis 5 releases, typed in redis 8
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
                await client.aclose()
            await asyncio.sleep(RECONNECT_DELAY)

    def _hear(self, message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            self._forget_mirror()
            self._listening = True
        elif message["type"] == "message":
            renewed = orjson.loads(message["data"])
            self._mirror_epoch += 1
            self._mirror.update({key: token.encode() for key, token in renewed.items()})
