"""The read path of a client: coalesced reads, and with a backend, cached ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any, NamedTuple
from urllib.parse import quote

import attrs
import orjson

from ..errors import (
    APIError,
    ButterError,
    CacheBackendError,
    InvalidResponseError,
    RateLimitError,
    RequestTimeoutError,
    TransportError,
)
from ..webhooks import WebhookEvent
from .backends import CacheBackend, Lookup
from .coalescing import Coalescer, Decode, Fetched
from .tags import EVERYTHING, event_tags, read_tags, write_tags

logger = logging.getLogger("butter_async.cache")

Fetch = Callable[[], Awaitable[Fetched]]
#: How the read path asks ButterCMS: `fetch(retry)`; without retries when a stale copy
#: can answer instead, so a failing ButterCMS costs the visitor one attempt, not several.
Upstream = Callable[[bool], Awaitable[Fetched]]


@attrs.define
class CacheStats:
    """What the read path saved: each hit, stale serve and coalesced caller is an API
    call not made. `backend_errors` are cache operations that failed (reads then go to
    ButterCMS), never a failed page view."""

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    stale_served: int = 0
    stale_if_error: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    invalidations: int = 0
    backend_errors: int = 0
    #: Reads sent straight to ButterCMS while a failed store was being given time.
    bypassed: int = 0
    #: Entries that did not decode into what their read expects (cut short, not JSON,
    #: another read's body): each was treated as a miss and replaced.
    bad_entries: int = 0
    #: Entries dropped because ButterCMS answered 404, 401 or 403 for their read.
    dropped: int = 0
    #: Webhook invalidations folded into one already made for the same tags.
    invalidations_folded: int = 0

    @property
    def calls_saved(self) -> int:
        """API calls not made: hits, coalesced callers, and stale serves less the
        background refreshes they started."""
        return self.hits + self.coalesced + max(0, self.stale_served - self.refreshes)


def _fails_over(error: Exception) -> bool:
    """Whether a failure is ButterCMS being unavailable (serve stale) rather than an answer."""
    if isinstance(error, APIError):
        return error.status >= 500 or isinstance(error, RateLimitError)
    return isinstance(error, RequestTimeoutError | TransportError | InvalidResponseError)


#: Answers that end an entry: the content is gone (404) or the token may no longer read
#: it (401, 403). The next read gets the answer itself.
_ENDS_ENTRY = (401, 403, 404)
#: Identical webhook invalidations within this many seconds cost one renewal, and one more
#: at the window's end if any came during it (so an edit made in the burst is not lost).
INVALIDATION_WINDOW = 1.0
#: Beyond this many windows open at once, invalidations are no longer folded.
MAX_INVALIDATION_WINDOWS = 10_000


@attrs.frozen
class _Address:
    """Where one read lives: its in-flight key, cache key and tag token keys."""

    path: str
    flight: str
    key: str
    token_keys: tuple[str, ...]
    preview: bool


def _token_key(account: str, tag: str) -> str:
    return f"{account}:t:{_escaped(tag)}"


def _escaped(part: str) -> str:
    """`part` percent-encoded down to letters, digits and `-._~`, so that no separator of
    a key (`/ ? & = :`) can come from inside a part."""
    return quote(part, safe="")


@lru_cache(maxsize=8192)
def _address(
    account: str, segments: tuple[str | int, ...], query: tuple[tuple[str, str], ...]
) -> _Address:
    """The address of a read, worked out once per distinct read (a page view's hot path).

    Every path segment, parameter name and value is percent-encoded before they are
    joined, so two different reads never share a key, whatever a filter value holds.
    """
    path = "/".join(_escaped(str(segment)) for segment in segments)
    flight = path + "?" + "&".join(f"{_escaped(k)}={_escaped(v)}" for k, v in sorted(query))
    tags = read_tags(segments, dict(query))
    token_keys = tuple(_token_key(account, tag) for tag in tags)
    preview = any(name == "preview" for name, _ in query)
    return _Address(path, flight, f"{account}:r:{flight}", token_keys, preview)


#: What `_payload_of` gives for an entry that does not decode.
_BAD: Any = object()


class _Entry(NamedTuple):
    stored_at: float
    tokens: list[str | None]
    body: bytes


def _text(token: bytes | None) -> str | None:
    return token.decode("utf-8", "replace") if token is not None else None


def _same_tokens(recorded: list[str | None], current: Sequence[bytes | None]) -> bool:
    """Whether an entry's tags still have the tokens it was fetched under."""
    if not any(current):  # no tag of it was ever invalidated: the common case
        return not any(recorded)
    return recorded == [_text(token) for token in current]


#: Starts every entry, so an entry of an older layout (or not ours) reads as a miss.
_LAYOUT = b"butter_async:2\n"


def _encode(stored_at: float, tokens: Sequence[bytes | None], body: bytes) -> bytes:
    """The entry: a line of JSON with its age and tag tokens, then the body as it came,
    so a hit decodes the body straight into the caller's models."""
    header = orjson.dumps({"at": stored_at, "tokens": [_text(token) for token in tokens]})
    return b"".join((_LAYOUT, header, b"\n", body))


def _decode(raw: bytes) -> _Entry | None:
    if not raw.startswith(_LAYOUT):
        return None
    header, newline, body = raw[len(_LAYOUT) :].partition(b"\n")
    try:
        fields = orjson.loads(header)
        entry = _Entry(fields["at"], fields["tokens"], body)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not newline or not isinstance(entry.stored_at, int | float):
        return None
    if not isinstance(entry.tokens, list):
        return None
    return entry


class ReadCache:
    """Coalesces identical reads in flight and, given a backend, caches their answers.

    Entries carry tags derived from what they hold; `invalidate(event)` renews the tags a
    webhook event makes stale. Without a backend only coalescing runs and invalidation
    is a no-op, so the same code serves both. `account` names the account and API root
    (a hash of each): every key starts with it.
    """

    def __init__(
        self, backend: CacheBackend | None, *, account: str, coalesce: bool = True
    ) -> None:
        self.backend = backend
        self.coalesce = coalesce
        self.stats = CacheStats()
        self._account = account
        self._coalescer = Coalescer()
        # Bumped by every invalidation: a read starting after one never joins a read
        # that started before it.
        self._epoch = 0
        self._refreshing: set[asyncio.Task[None]] = set()
        self._refreshing_keys: set[Hashable] = set()
        self._backend_back_at = 0.0  # monotonic time until which a failed store is skipped
        # tags of a webhook invalidation -> whether another came during its window
        self._invalidation_windows: dict[tuple[str, ...], bool] = {}
        self._window_tasks: set[asyncio.Task[None]] = set()
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
        address = _address(self._account, tuple(segments), tuple(query.items()))
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
        fallback: _Entry | None = None
        if entry is not None:
            age = self.clock() - entry.stored_at
            servable = age < backend.ttl + backend.stale_while_revalidate
            if servable and _same_tokens(entry.tokens, tokens):
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
        if tags and not self._fold_into_window(tags):
            await self.invalidate_tags(*tags)
        logger.info("webhook %s invalidated %s", event.event, ", ".join(tags) or "nothing")
        return tags

    def _fold_into_window(self, tags: tuple[str, ...]) -> bool:
        """Whether an invalidation of `tags` joins a window already open for them (to be
        renewed at its end); otherwise opens one, and the caller renews now."""
        windows = self._invalidation_windows
        if self.backend is None:
            return False
        if tags in windows:
            windows[tags] = True
            self.stats.invalidations_folded += 1
            return True
        if len(windows) >= MAX_INVALIDATION_WINDOWS:
            return False
        windows[tags] = False
        task = asyncio.get_running_loop().create_task(self._close_window(tags))
        self._window_tasks.add(task)
        task.add_done_callback(self._window_tasks.discard)
        return False

    async def _close_window(self, tags: tuple[str, ...]) -> None:
        try:
            await asyncio.sleep(INVALIDATION_WINDOW)
        finally:
            folded = self._invalidation_windows.pop(tags, False)
        if folded:
            with contextlib.suppress(CacheBackendError):  # counted and logged there
                await self.invalidate_tags(*tags)

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
            await self.backend.renew([_token_key(self._account, tag) for tag in tags])
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
        while self._refreshing:
            await asyncio.gather(*self._refreshing, return_exceptions=True)

    async def wait_for_invalidations(self) -> None:
        """Wait until every open invalidation window has closed (renewing if it must)."""
        while self._window_tasks:
            await asyncio.gather(*self._window_tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop background refreshes and release the backend's connections."""
        background = [*self._refreshing, *self._window_tasks]
        for task in background:
            task.cancel()
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        if self.backend is not None:
            await self.backend.close()

    def _entry_of(self, raw: bytes | None, path: str) -> _Entry | None:
        """The entry a backend holds, or None; one not of our layout counts as bad."""
        if raw is None:
            return None
        entry = _decode(raw) if isinstance(raw, bytes) else None
        if entry is None:
            self._bad_entry(path, "not an entry of this version")
        return entry

    def _payload_of(self, entry: _Entry, decode: Decode, path: str) -> Any:
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
            entry = _encode(stored_at, tokens, body)
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
        if flight_key in self._refreshing_keys or self._coalescer.is_running(flight_key):
            return  # a refresh (or a miss) is already fetching it

        async def refresh() -> None:
            try:
                await self._shared(
                    flight_key, lambda: self._fetch_and_store(key, tokens, fetch), decode
                )
            except Exception as error:
                self.stats.refresh_failures += 1
                logger.warning("background refresh failed: %s", type(error).__name__)

        self.stats.refreshes += 1
        task = asyncio.get_running_loop().create_task(refresh())
        self._refreshing.add(task)
        self._refreshing_keys.add(flight_key)

        def finished(task: asyncio.Task[None]) -> None:
            self._refreshing.discard(task)
            self._refreshing_keys.discard(flight_key)

        task.add_done_callback(finished)

    def _backend_failed(self, operation: str, error: Exception) -> None:
        self.stats.backend_errors += 1
        if self.backend is not None:
            self._backend_back_at = time.monotonic() + self.backend.backend_retry_after
        logger.warning(
            "cache %s failed (%s); reading from ButterCMS", operation, type(error).__name__
        )
