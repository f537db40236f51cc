"""The read path of a client: coalesced reads, and with a backend, cached ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import (
    APIError,
    ButterError,
    CacheBackendError,
    InvalidResponseError,
    RateLimitError,
    RequestTimeoutError,
    TransportError,
)
from .coalescing import Coalescer, Decode, Fetched
from .entries import Entry, Lookup, address_of, decode_entry, encode_entry, same_tokens, token_key
from .invalidation import InvalidationWindows
from .refreshes import Refreshes
from .stats import CacheStats
from .tags import EVERYTHING, event_tags, write_tags

if TYPE_CHECKING:
    from ..webhooks import WebhookEvent
    from .backends import CacheBackend

logger = logging.getLogger("butter_async.cache")

#: What `_payload_of` gives for an entry that does not decode.
_BAD: Any = object()

Fetch = Callable[[], Awaitable[Fetched]]
#: How the read path asks ButterCMS: `fetch(retry)`; without retries when a stale copy
#: can answer instead, so a failing ButterCMS costs the visitor one attempt, not several.
Upstream = Callable[[bool], Awaitable[Fetched]]


def _fails_over(error: Exception) -> bool:
    """Whether a failure is ButterCMS being unavailable (serve stale) rather than an answer."""
    if isinstance(error, APIError):
        return error.status >= 500 or isinstance(error, RateLimitError)
    return isinstance(error, RequestTimeoutError | TransportError | InvalidResponseError)


#: Answers that end an entry: the content is gone (404) or the token may no longer read
#: it (401, 403). The next read gets the answer itself.
_ENDS_ENTRY = (401, 403, 404)


class ReadCache:
    """Coalesces identical reads in flight and, given a backend, caches their answers,
    tagged by what they hold; `invalidate(event)` renews the tags a webhook makes stale.
    Every key starts with `account` (a hash of the account and of the API root)."""

    def __init__(
        self, backend: CacheBackend | None, *, account: str, coalesce: bool = True
    ) -> None:
        self.backend = backend
        self.coalesce = coalesce
        self.stats = CacheStats()
        self._account = account
        self._coalescer = Coalescer()
        self._epoch = 0  # bumped by invalidations: no read joins one begun before
        self._refreshes = Refreshes(self.stats)
        self._backend_back_at = 0.0  # monotonic time until which a failed store is skipped
        self._windows = InvalidationWindows(self._renew_folded, self.stats)
        self._bad_entry_logged = False
        #: The wall clock entries' ages are judged by (tests move it forward).
        self.clock: Callable[[], float] = time.time

    def __repr__(self) -> str:
        return f"<ReadCache backend={self.backend!r}>"

    async def read(
        self,
        segments: Sequence[str | int],
        query: Mapping[str, str],
        upstream: Upstream,
        decode: Decode,
        options: Hashable = None,
    ) -> Any:
        """The payload of a GET, as `decode` makes it of the body: from the cache, a read
        in flight, or `upstream` (which decodes what it fetches the same way).

        A read joins one in flight only when their `options` (the caller's timeout and
        retry policy) are equal, so a caller's own limits hold.
        """
        address = address_of(self._account, tuple(segments), tuple(query.items()))
        flight_key = (self._epoch, address.flight, options)
        backend = self.backend
        if backend is None or (address.preview and not backend.cache_preview):
            return await self._shared(flight_key, partial(upstream, True), decode)
        if time.monotonic() < self._backend_back_at:
            self.stats.bypassed += 1
            return await self._shared(flight_key, partial(upstream, True), decode)
        key, token_keys = address.key, address.token_keys
        try:
            found = await backend.lookup(key, token_keys)
        except Exception as error:
            self._backend_failed("lookup", error)
            found = Lookup(None, [None] * len(token_keys))
        tokens = found.tokens
        entry = self._entry_of(found.entry, address.path)
        fallback: Entry | None = None
        if entry is not None:
            age = self.clock() - entry.stored_at
            servable = age < backend.ttl + backend.stale_while_revalidate
            if servable and same_tokens(entry.tokens, tokens):
                served = self._payload_of(entry, decode, address.path)
                if served is _BAD:
                    entry = None  # a miss, and the fresh answer replaces it
                elif age < backend.ttl:
                    self.stats.hits += 1
                    if not found.local and found.entry is not None:
                        await backend.keep_local(key, found.entry, backend.ttl - age)
                    return served
                else:
                    self.stats.stale_served += 1
                    self._refresh_behind(flight_key, key, tokens, partial(upstream, True), decode)
                    return served
            # An invalidated copy is never served as a hit, but it still keeps the site
            # up while ButterCMS fails (an outage, a spent quota).
            if entry is not None and age < backend.ttl + backend.stale_if_error:
                fallback = entry
        self.stats.misses += 1
        # one attempt when a stale copy can answer a failure instead
        fetch = partial(upstream, fallback is None)
        try:
            return await self._shared(
                flight_key, lambda: self._fetch_and_store(key, tokens, fetch), decode
            )
        except Exception as error:
            if fallback is None or not _fails_over(error):
                raise
            served = self._payload_of(fallback, decode, address.path)
            if served is _BAD:
                raise
            self.stats.stale_if_error += 1
            logger.warning(
                "serving a stale copy of %s (%.0f s old): ButterCMS failed with %s",
                address.path,
                self.clock() - fallback.stored_at,
                type(error).__name__,
            )
            return served

    async def invalidate(self, event: WebhookEvent) -> tuple[str, ...]:
        """Make stale what a webhook event changed; returns the tags renewed.

        Identical events within `INVALIDATION_WINDOW` seconds are folded: the first renews
        at once, and the rest cost one more renewal at the window's end.
        """
        references = self.backend is None or self.backend.content_references
        tags = event_tags(event, references=references)
        if tags and (self.backend is None or not self._windows.fold(tags)):
            await self.invalidate_tags(*tags)
        logger.info("webhook %s invalidated %s", event.event, ", ".join(tags) or "nothing")
        return tags

    async def written(self, segments: Sequence[str | int], body: Any) -> None:
        """Make stale what a write through this client changed, as its webhook will.

        Never raises for the store: the write itself was made. A store that failed
        lately is skipped, as reads skip it.
        """
        backend = self.backend
        if backend is None or time.monotonic() < self._backend_back_at:
            self._epoch += 1  # later reads still do not join one that began before
            return
        tags = write_tags(segments, body, references=backend.content_references)
        with contextlib.suppress(CacheBackendError):  # counted and logged there
            await self.invalidate_tags(*tags)

    async def invalidate_tags(self, *tags: str) -> None:
        """Make stale every entry carrying one of `tags` (in every worker, with Redis)."""
        self._epoch += 1
        if self.backend is None or not tags:
            return
        self.stats.invalidations += 1
        try:
            await self.backend.renew([token_key(self._account, tag) for tag in tags])
        except Exception as error:
            self._backend_failed("invalidation", error)
            raise CacheBackendError(
                f"could not invalidate {', '.join(tags)}: {type(error).__name__}"
            ) from None

    async def clear(self) -> None:
        """Make every entry of this account stale."""
        await self.invalidate_tags(EVERYTHING)

    async def wait_for_refreshes(self) -> None:
        """Wait until the background refreshes under way have finished."""
        await self._refreshes.wait()

    async def wait_for_invalidations(self) -> None:
        """Wait until every open invalidation window has closed (renewing if it must)."""
        await self._windows.wait()

    async def _renew_folded(self, tags: tuple[str, ...]) -> None:
        """Renew `tags` at the end of a window in which more invalidations came."""
        with contextlib.suppress(CacheBackendError):  # counted and logged there
            await self.invalidate_tags(*tags)

    async def close(self) -> None:
        """Stop background refreshes and release the backend's connections."""
        background = [*self._refreshes.tasks, *self._windows.tasks]
        for task in background:
            task.cancel()
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        if self.backend is not None:
            await self.backend.close()

    def _entry_of(self, raw: bytes | None, path: str) -> Entry | None:
        """The entry a backend holds, or None; one not of our layout counts as bad."""
        if raw is None:
            return None
        entry = decode_entry(raw) if isinstance(raw, bytes) else None
        if entry is None:
            self._bad_entry(path, "not an entry of this version")
        return entry

    def _payload_of(self, entry: Entry, decode: Decode, path: str) -> Any:
        """`decode` of an entry's body, or `_BAD` (counted and logged) if it does not fit."""
        try:
            return decode(entry.body)
        except (ValueError, ButterError) as error:  # cut short, not JSON, another read's
            self._bad_entry(path, type(error).__name__)
            return _BAD

    def _bad_entry(self, path: str, why: str) -> None:
        self.stats.bad_entries += 1
        log = logger.debug if self._bad_entry_logged else logger.warning
        self._bad_entry_logged = True
        log("a cached entry of %s does not decode (%s): read again and replaced", path, why)

    async def _shared(self, flight_key: Hashable, fetch: Fetch, decode: Decode) -> Any:
        """`fetch()`'s payload, shared with the identical read in flight if there is one."""
        if not self.coalesce:
            payload, _body = await fetch()
            return payload
        payload, joined = await self._coalescer.run(flight_key, fetch, decode)
        self.stats.coalesced += joined
        return payload

    async def _fetch_and_store(
        self, key: str, tokens: Sequence[bytes | None], fetch: Fetch
    ) -> Fetched:
        stored_at = self.clock()
        try:
            payload, body = await fetch()
        except APIError as error:
            if error.status in _ENDS_ENTRY and self.backend is not None:
                await self._drop(key)
            raise
        if self.backend is not None and body and time.monotonic() >= self._backend_back_at:
            entry = encode_entry(stored_at, tokens, body)
            try:
                await self.backend.store(key, entry)
            except Exception as error:
                self._backend_failed("store", error)
            else:
                await self.backend.keep_local(key, entry, self.backend.ttl)
        return payload, body

    async def _drop(self, key: str) -> None:
        """Remove an entry whose read ButterCMS no longer answers with content."""
        if self.backend is None or time.monotonic() < self._backend_back_at:
            return
        self.stats.dropped += 1
        try:
            await self.backend.discard(key)
        except Exception as error:
            self._backend_failed("discard", error)

    def _refresh_behind(
        self,
        flight_key: Hashable,
        key: str,
        tokens: Sequence[bytes | None],
        fetch: Fetch,
        decode: Decode,
    ) -> None:
        if self._coalescer.is_running(flight_key):
            return  # a miss is already fetching it
        store = partial(self._fetch_and_store, key, tokens, fetch)
        self._refreshes.start(flight_key, partial(self._shared, flight_key, store, decode))

    def _backend_failed(self, operation: str, error: Exception) -> None:
        self.stats.backend_errors += 1
        if self.backend is not None:
            self._backend_back_at = time.monotonic() + self.backend.backend_retry_after
        logger.warning(
            "cache %s failed (%s); reading from ButterCMS", operation, type(error).__name__
        )
