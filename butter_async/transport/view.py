"""Transport: a view over a shared session with its own timeout, retries and preview;
it turns calls into checked JSON answers, retrying what is safe to retry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

import aiohttp
from yarl import URL

from ..cache.coalescing import Decode, Fetched
from ..cache.reads import ReadCache
from ..errors import (
    APIError,
    ClientClosedError,
    ConfigurationError,
    InvalidResponseError,
    RateLimitError,
    TransportError,
)
from ..models.decoding import exact_json
from ..retries import RetryPolicy
from .attempt import send_once
from .responses import not_json
from .session import ClientStats, SharedSession
from .settings import Auth, OnRateLimit, Params, QueryValue
from .urls import redact_url

logger = logging.getLogger("butter_async")

_RETRYABLE_READ_STATUSES = frozenset({429, 502, 503, 504})
# A write refused with 429 or 503 was not applied; any other failure might have been.
_RETRYABLE_WRITE_STATUSES = frozenset({429, 503})


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_of(params: Params | None) -> dict[str, str]:
    """Query parameters as text, those set to None left out."""
    return {k: _query_text(v) for k, v in params.items() if v is not None} if params else {}


class Transport:
    """Sends API calls through a `SharedSession` with this view's timeout, retry policy
    and preview; `derive()` makes another view over the same session."""

    def __init__(
        self,
        session: SharedSession,
        *,
        timeout: float,
        retry: RetryPolicy,
        preview: bool = False,
    ) -> None:
        if timeout <= 0:
            raise ConfigurationError("timeout must be positive")
        self.session = session
        # the shared session's, read on every call: plain attributes, not properties
        self.base_url: URL = session.base_url
        self.stats: ClientStats = session.stats
        self.reads: ReadCache = session.reads
        self.timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry = retry
        self.preview = preview

    def __repr__(self) -> str:
        return repr(self.session).replace("<SharedSession", "<Transport", 1)

    def derive(
        self,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        preview: bool | None = None,
    ) -> Transport:
        """Another view of the same session (its stats and listeners), other settings."""
        return Transport(
            self.session,
            timeout=self.timeout if timeout is None else timeout,
            retry=self.retry if retry is None else retry,
            preview=self.preview if preview is None else preview,
        )

    @property
    def closed(self) -> bool:
        """Whether the shared session was closed."""
        return self.session.closed

    def redact(self, text: str) -> str:
        """`text` with every token masked, raw or percent-encoded."""
        return self.session.redact(text)

    def url_for(self, segments: Sequence[str | int]) -> URL:
        """The endpoint URL for path segments, each percent-encoded."""
        return self.session.url_for(segments)

    def not_json(self, raw: bytes, status: int, method: str, url: URL) -> InvalidResponseError:
        """The error for a successful answer whose body is not JSON."""
        return not_json(raw, status, method, url, self.session.redact)

    async def get(
        self,
        segments: Sequence[str | int],
        params: Params | None = None,
        *,
        timeout: float | None = None,
        fresh: bool = False,
        decode: Decode = exact_json,
    ) -> Any:
        """GET an endpoint with the read token; retried on transient failures.

        Identical reads in flight together share one request, and with a cache a fresh
        entry answers without one; `fresh=True` (a write checking its own effect) asks
        ButterCMS itself. `decode` turns a successful answer's body into what is
        returned, and raises a ValueError for a body that is not JSON.
        """
        query = _query_of(params)
        if self.preview and "preview" not in query:
            query["preview"] = query["test"] = "1"
        if fresh:
            payload, _body = await self.request(
                "GET", segments, params=query, auth="read", timeout=timeout, decode=decode
            )
            return payload

        def upstream(retry: bool) -> Coroutine[Any, Any, Fetched]:
            return self.request(
                "GET",
                segments,
                params=query,
                auth="read",
                timeout=timeout,
                retry=retry,
                decode=decode,
            )

        # a caller joins only a read in flight that keeps its own timeout and retries
        options = (timeout or self.timeout, self.retry)
        return await self.session.reads.read(segments, query, upstream, decode, options)

    async def request(
        self,
        method: str,
        segments: Sequence[str | int],
        *,
        params: Params | None = None,
        content: bytes | None = None,
        auth: Auth = "read",
        timeout: float | None = None,
        idempotent: bool | None = None,
        retry: bool = True,
        decode: Decode = exact_json,
        on_rate_limit: OnRateLimit = "wait",
    ) -> Fetched:
        """Send one API call with retries: what `decode` makes of a successful answer's body
        (by default the parsed JSON; None for 204), and the body.

        `content` is the request body, JSON already encoded (see `writes.encode_body`).

        `idempotent` (default: only for GET) allows retrying failures after which the
        request may already have been applied; a PATCH of absolute values is idempotent.
        `retry=False` makes one attempt only; `on_rate_limit` says what a 429 does.
        """
        shared = self.session
        if auth == "write":
            shared.require_write_token()
        session = shared.get()
        url = shared.url_for(segments)
        query = _query_of(params)
        repeatable = idempotent if idempotent is not None else method in ("GET", "HEAD")
        retryable = _RETRYABLE_READ_STATUSES if repeatable else _RETRYABLE_WRITE_STATUSES
        max_retries = self.retry.max_retries if retry else 0
        attempt = 0
        while True:
            # `shared.get()` has just refused a closed client or session: recheck on retries.
            if attempt and (shared.closed or session.closed):
                raise ClientClosedError(
                    "the ButterClient was closed while this request was retrying"
                )
            try:
                client_timeout = (
                    aiohttp.ClientTimeout(total=timeout) if timeout else self._client_timeout
                )
                sending = send_once(
                    shared,
                    session,
                    method,
                    url,
                    query,
                    content,
                    auth,
                    client_timeout,
                    decode,
                    attempt,
                )
                if shared.owns_session:
                    return await sending  # closing our own session ends what is in flight
                return await self._unless_closed(sending)
            except APIError as error:
                if isinstance(error, RateLimitError):
                    for listener in shared.rate_limit_listeners:
                        listener(error.retry_after)
                    if on_rate_limit == "raise":
                        raise
                if error.status not in retryable or attempt >= max_retries:
                    raise
                delay = self._delay_for(error, attempt)
            except (InvalidResponseError, TransportError) as error:
                # A connect failure never reached the server; anything else may have.
                safe = repeatable or (isinstance(error, TransportError) and error.connect_failed)
                if not safe or attempt >= max_retries:
                    raise
                delay = self.retry.backoff(attempt)
            attempt += 1
            shared.stats.retries += 1
            logger.warning(
                "retrying %s %s in %.2fs (attempt %d)", method, redact_url(url), delay, attempt + 1
            )
            await asyncio.sleep(delay)

    async def _unless_closed(self, sending: Coroutine[Any, Any, Fetched]) -> Fetched:
        """Run a request on a session we do not own, ending it if the client is closed.

        The caller's session stays open, so closing the client cannot end its requests;
        this race does, within the same second.
        """
        send = asyncio.ensure_future(sending)
        watch = asyncio.ensure_future(self.session.closing.wait())
        try:
            await asyncio.wait({send, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not send.done():
                send.cancel()
                await asyncio.gather(send, watch, return_exceptions=True)
        if send.done() and not send.cancelled():
            return send.result()
        raise ClientClosedError("the ButterClient was closed during this request")

    def _delay_for(self, error: APIError, attempt: int) -> float:
        retry_after = error.retry_after if isinstance(error, RateLimitError) else None
        if self.retry.too_long_to_wait(retry_after):
            raise error
        return self.retry.backoff(attempt) if retry_after is None else retry_after
