"""ButterClient: the one way in; owns the transport and exposes the resources."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable
from contextlib import suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack
from yarl import URL

from .cache.reads import ReadCache
from .pagination import DEFAULT_PREFETCH
from .resources import (
    AuthorsResource,
    CategoriesResource,
    CollectionsResource,
    FeedsResource,
    PagesResource,
    PostsResource,
    TagsResource,
)
from .retries import RetryPolicy
from .transport import (
    ClientOptions,
    ClientSettings,
    ClientStats,
    OnRateLimit,
    SharedSession,
    Transport,
    with_max_retries,
)
from .transport.urls import account_fingerprint
from .writes import WriteCall, WriteResult, send_call

if TYPE_CHECKING:  # the bulk writer loads on first use, not with the client
    from .bulk import BulkOptions, BulkReport, BulkWriter
    from .operations import Operation


class ButterClient:
    """An async client for the ButterCMS API v2.

    Use it as `async with ButterClient(read_token=...) as butter:`. It creates its aiohttp
    session lazily inside the running loop and closes it on exit; a `session=` you pass
    is used as is and never closed. Reads carry the read token as the `auth_token` query
    parameter, as every official SDK does; `read_auth="header"` sends it as
    `Authorization: Token …` instead, keeping it out of URLs (and so out of proxy and
    server logs) at the cost of URLs that shared caches can no longer tell apart.

    Identical reads in flight at the same time share one request (`coalesce=False` turns
    that off). `cache=MemoryCache()` or `cache=RedisCache(url)` also caches reads, serves
    stale copies while refreshing or while ButterCMS fails, and is invalidated through
    `butter.cache.invalidate(event)` by ButterCMS webhooks.
    """

    def __init__(
        self,
        read_token: str,
        write_token: str | None = None,
        *,
        prefetch: int = DEFAULT_PREFETCH,
        **options: Unpack[ClientOptions],
    ) -> None:
        """Options (`base_url`, `timeout`, `max_retries`, `retry`, `cache`, ...) are those
        of `ClientSettings`; an invalid one raises ConfigurationError."""
        settings = ClientSettings(read_token=read_token, write_token=write_token, **options)
        transport = Transport(
            SharedSession(settings),
            timeout=settings.timeout,
            retry=settings.retry_policy,
            preview=settings.preview,
        )
        self._attach(transport, prefetch)

    def _attach(self, transport: Transport, prefetch: int, *, owner: bool = True) -> None:
        self._transport = transport
        self._owner = owner  # False for a with_options view: it borrows the session
        self._prefetch = prefetch
        self.pages = PagesResource(transport, prefetch=prefetch)
        self.posts = PostsResource(transport, prefetch=prefetch)
        self.authors = AuthorsResource(transport, prefetch=prefetch)
        self.categories = CategoriesResource(transport, prefetch=prefetch)
        self.tags = TagsResource(transport, prefetch=prefetch)
        self.collections = CollectionsResource(transport, prefetch=prefetch)
        self.feeds = FeedsResource(transport, prefetch=prefetch)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        preview: bool | None = None,
        prefetch: int | None = None,
    ) -> ButterClient:
        """This client with other per-call settings: `butter.with_options(timeout=2).posts...`.

        The result shares this client's session and stats and needs no closing of its own.
        """
        policy = with_max_retries(retry or self._transport.retry, max_retries)
        clone = copy.copy(self)
        clone._attach(
            self._transport.derive(timeout=timeout, retry=policy, preview=preview),
            self._prefetch if prefetch is None else prefetch,
            owner=False,
        )
        return clone

    def __repr__(self) -> str:
        return f"<ButterClient {self._transport!r}>"

    @property
    def transport(self) -> Transport:
        """The low-level session manager under the resources: `get()` and `request()` reach
        any endpoint with this client's auth, retries, cache and error mapping."""
        return self._transport

    @property
    def stats(self) -> ClientStats:
        """Request, retry and status counters of this client."""
        return self._transport.stats

    @property
    def cache(self) -> ReadCache:
        """The read path: coalescing, the cache if one was given, and its invalidation."""
        return self._transport.reads

    @property
    def base_url(self) -> URL:
        """The API root this client talks to."""
        return self._transport.base_url

    @property
    def account_fingerprint(self) -> str:
        """A short hash of the read token: tells accounts apart without revealing it."""
        return account_fingerprint(self._transport.session.read_token)

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of this client's requests."""
        return self._transport.retry

    @property
    def closed(self) -> bool:
        """Whether the client (or the client it was derived from) is closed."""
        return self._transport.closed

    def reserve_connections(self, wanted: int) -> int:
        """Let the connection pool hold `wanted` connections if it still can; its size.

        The pool of a session this client creates grows until the session is made (on
        the first request); a caller's session keeps its own size. 0 means no limit.
        """
        return self._transport.session.reserve_connections(wanted)

    def require_write_token(self) -> None:
        """Raise MissingWriteTokenError unless this client has a write token."""
        self._transport.session.require_write_token()

    def on_rate_limited(self, callback: Callable[[float | None], None]) -> Callable[[], None]:
        """Call `callback(retry_after)` on every 429 this client receives.

        Returns the function that unsubscribes it (calling it twice is harmless).
        """
        listeners = self._transport.session.rate_limit_listeners
        listeners.append(callback)

        def unsubscribe() -> None:
            with suppress(ValueError):
                listeners.remove(callback)

        return unsubscribe

    def send(
        self,
        call: WriteCall,
        *,
        check_first: bool = False,
        on_rate_limit: OnRateLimit = "wait",
    ) -> Coroutine[Any, Any, WriteResult]:
        """Send a write built by an operation's `prepare()` (a coroutine to await).

        A create is looked for first with `check_first`, and whenever an attempt fails
        in a way that may have applied it; see `butter_async.writes`. With
        `on_rate_limit="raise"` a 429 met before any ambiguous attempt raises
        RateLimitError at once (a caller that paces itself resends it).
        """
        return send_call(
            self._transport, call, check_first=check_first, on_rate_limit=on_rate_limit
        )

    def bulk(self, **options: Unpack[BulkOptions]) -> BulkWriter:
        """A BulkWriter on this client: `async with butter.bulk(concurrency=32) as writer:`.

        Options are those of `BulkWriter` (concurrency, rate_limit, journal, progress, ...).
        """
        from .bulk import BulkWriter

        return BulkWriter(self, **options)

    async def bulk_run(
        self,
        operations: Iterable[Operation] | AsyncIterable[Operation],
        *,
        keep_results: bool = False,
        **options: Unpack[BulkOptions],
    ) -> BulkReport:
        """Run write operations through a BulkWriter and return its report (counts and
        failures; every result too with `keep_results=True`)."""
        return await self.bulk(**options).run(operations, keep_results=keep_results)

    async def close(self) -> None:
        """Close the session this client created; closing twice is harmless. A view made
        by `with_options` closes nothing: it borrows its client's session."""
        if self._owner:
            await self._transport.session.close()

    async def __aenter__(self) -> ButterClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
