"""The session manager: one aiohttp session, auth, retries, timeouts and error mapping."""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Literal

import aiohttp
import attrs
import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._urls import (
    api_url,
    cache_namespace,
    check_token,
    parse_base_url,
    redact_url,
    secret_forms,
)
from ._version import __version__
from .cache.backends import CacheBackend
from .cache.coalescing import Decode, Fetched
from .cache.reads import ReadCache
from .cache.stats import CacheStats
from .errors import (
    APIError,
    ButterError,
    ClientClosedError,
    ConfigurationError,
    InvalidResponseError,
    MissingWriteTokenError,
    RateLimitError,
    RequestTimeoutError,
    TransportError,
    api_error,
)
from .heap import keep_socket_reads_on_heap
from .models.decoding import exact_json
from .retries import RetryPolicy, parse_retry_after

logger = logging.getLogger("butter_async")

Auth = Literal["read", "write"]
#: Where reads carry the read token: the `auth_token` query parameter (what every official
#: SDK sends, and what ButterCMS's CDN caches on) or the `Authorization: Token` header.
ReadAuth = Literal["query", "header"]
#: What a 429 does to a call: "wait" sleeps it out and resends (within the retry policy);
#: "raise" raises RateLimitError at once, for a caller that paces and resends itself.
OnRateLimit = Literal["wait", "raise"]
QueryValue = str | int | float | bool
Params = Mapping[str, QueryValue | None]

USER_AGENT = f"butter-async/{__version__} (Python-async; aiohttp/{aiohttp.__version__})"
CLIENT_HEADER = f"Python-async/{__version__}"
DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
DEFAULT_CONNECTOR_LIMIT = 100
_RETRYABLE_READ_STATUSES = frozenset({429, 502, 503, 504})
# A write refused with 429 or 503 was not applied; any other failure might have been.
_RETRYABLE_WRITE_STATUSES = frozenset({429, 503})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5


@attrs.define
class ClientStats:
    """Counters of what one client sent and received."""

    requests: int = 0
    #: Answers other than 429: what a server's rate limit counted as accepted.
    accepted: int = 0
    retries: int = 0
    bytes_received: int = 0
    by_status: Counter[int] = attrs.field(factory=Counter)
    #: Cache hits, coalesced callers, stale serves, refreshes and invalidations.
    cache: CacheStats = attrs.field(factory=CacheStats)


SESSION_HEADERS = {
    "User-Agent": USER_AGENT,
    "X-Butter-Client": CLIENT_HEADER,
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
}
"""Headers every request carries: the session's own when we make it."""


def _request_headers(
    token: str | None, has_body: bool, *, own_session: bool
) -> CIMultiDictProxy[str]:
    """A request's headers beyond those its session adds; built once per client, in the
    type aiohttp keeps headers in, so it does not convert them on every request."""
    headers = CIMultiDict[str]() if own_session else CIMultiDict(SESSION_HEADERS)
    if has_body:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Token {token}"
    return CIMultiDictProxy(headers)


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_of(params: Params | None) -> dict[str, str]:
    """Query parameters as text, those set to None left out."""
    return {k: _query_text(v) for k, v in params.items() if v is not None} if params else {}


class Transport:
    """Owns (or borrows) the aiohttp session and turns calls into checked JSON responses."""

    def __init__(
        self,
        *,
        read_token: str,
        write_token: str | None = None,
        base_url: str | URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        connector_limit: int = DEFAULT_CONNECTOR_LIMIT,
        preview: bool = False,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        read_auth: ReadAuth = "query",
        cache: CacheBackend | None = None,
        coalesce: bool = True,
    ) -> None:
        check_token("read_token", read_token)
        if write_token is not None:
            check_token("write_token", write_token)
        if read_auth not in ("query", "header"):
            raise ConfigurationError("read_auth must be 'query' or 'header'")
        if timeout <= 0:
            raise ConfigurationError("timeout must be positive")
        if connector_limit < 1:
            raise ConfigurationError("connector_limit must be at least 1")
        self.base_url = parse_base_url(base_url)
        self._urls = functools.lru_cache(maxsize=1024)(functools.partial(api_url, self.base_url))
        self._read_token = read_token
        self._write_token = write_token
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._closing = asyncio.Event()
        self.timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry = retry or RetryPolicy()
        self.connector_limit = connector_limit
        self.preview = preview
        self.max_body_size = max_body_size
        self._trace_configs = list(trace_configs)
        self.reads = ReadCache(
            cache, account=cache_namespace(read_token, self.base_url), coalesce=coalesce
        )
        self.stats = ClientStats(cache=self.reads.stats)
        self.rate_limit_listeners: list[Callable[[float | None], None]] = []
        self._parent: Transport | None = None
        self.read_auth = read_auth
        self._secrets = tuple(
            form for token in (read_token, write_token) if token for form in secret_forms(token)
        )
        self._headers = {
            (auth, has_body): _request_headers(
                write_token if auth == "write" else read_token if read_auth == "header" else None,
                has_body,
                own_session=session is None,
            )
            for auth in ("read", "write")
            for has_body in (False, True)
        }
        keep_socket_reads_on_heap()

    def __repr__(self) -> str:
        return (
            f"<Transport base_url={str(self.base_url)!r} "
            f"write_token={'set' if self._write_token else 'unset'} closed={self._closed}>"
        )

    @property
    def read_token(self) -> str:
        """The read token (never shown in a repr, a log or an error)."""
        return self._read_token

    def require_write_token(self) -> None:
        """Raise MissingWriteTokenError unless writes can be sent; no request is made."""
        if not self._write_token:
            raise MissingWriteTokenError(
                "this operation needs a write token: pass write_token= to ButterClient"
            )

    @property
    def closed(self) -> bool:
        """Whether `close()` was called (on the parent, for a derived transport)."""
        return self._parent.closed if self._parent is not None else self._closed

    def derive(
        self,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        preview: bool | None = None,
    ) -> Transport:
        """A transport with other settings sharing this one's session, stats and listeners."""
        if timeout is not None and timeout <= 0:
            raise ConfigurationError("timeout must be positive")
        derived = copy.copy(self)
        derived._parent = self._parent or self
        derived._owns_session = False
        if timeout is not None:
            derived.timeout = timeout
            derived._client_timeout = aiohttp.ClientTimeout(total=timeout)
        derived.retry = retry if retry is not None else self.retry
        derived.preview = preview if preview is not None else self.preview
        return derived

    def reserve_connections(self, wanted: int) -> int:
        """Let the pool hold `wanted` connections if it can still grow; return its size.

        The session this transport creates takes the larger size as long as it has not
        been made yet; a session made earlier, or given by the caller, keeps its own.
        0 means no limit.
        """
        if self._parent is not None:
            return self._parent.reserve_connections(wanted)
        if self._session is None and self._owns_session:
            self.connector_limit = max(self.connector_limit, wanted)
            return self.connector_limit
        connector = self._session.connector if self._session is not None else None
        return connector.limit if connector is not None else 0

    def _get_session(self) -> aiohttp.ClientSession:
        if self._parent is not None:
            return self._parent._get_session()
        if self._closed:
            raise ClientClosedError("this ButterClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ClientClosedError(
                "this ButterClient belongs to another event loop; create one client per loop"
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=SESSION_HEADERS,
                connector=aiohttp.TCPConnector(limit=self.connector_limit),
                trace_configs=self._trace_configs or None,
            )
            # aiohttp silently resends an idempotent request (GET, PUT, DELETE) once when a
            # reused connection drops. We retry ourselves, resolving writes that may have
            # been applied; a hidden resend would make an applied DELETE look like a 404.
            # There is no public switch, so this is set only when aiohttp has the attribute.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        elif self._session.closed:
            raise ClientClosedError("the aiohttp session given to ButterClient is closed")
        return self._session

    async def close(self) -> None:
        """Close the session if we created it; closing twice is harmless."""
        if self._parent is not None:
            return  # a derived transport borrows its parent's session
        self._closed = True
        self._closing.set()
        await self.reads.close()
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    def redact(self, text: str) -> str:
        """`text` with every token masked, raw or percent-encoded."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "REDACTED")
        return text

    def url_for(self, segments: Sequence[str | int]) -> URL:
        """The endpoint URL for path segments, each percent-encoded; the last 1,024 are kept,
        as every page of a list walk and every create asks for the same one."""
        return self._urls(tuple(segments))

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
        return await self.reads.read(segments, query, upstream, decode, options)

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
        if auth == "write":
            self.require_write_token()
        session = self._get_session()
        url = self.url_for(segments)
        query = _query_of(params)
        body = content
        repeatable = idempotent if idempotent is not None else method in ("GET", "HEAD")
        retryable = _RETRYABLE_READ_STATUSES if repeatable else _RETRYABLE_WRITE_STATUSES
        max_retries = self.retry.max_retries if retry else 0
        attempt = 0
        while True:
            # `_get_session()` has just refused a closed client or session: recheck on retries.
            if attempt and (self.closed or session.closed):
                raise ClientClosedError(
                    "the ButterClient was closed while this request was retrying"
                )
            try:
                sending = self._send(
                    session, method, url, query, body, auth, timeout, attempt, decode
                )
                if (self._parent or self)._owns_session:
                    return await sending  # closing our own session ends what is in flight
                return await self._unless_closed(sending)
            except APIError as error:
                if isinstance(error, RateLimitError):
                    for listener in self.rate_limit_listeners:
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
            self.stats.retries += 1
            logger.warning(
                "retrying %s %s in %.2fs (attempt %d)", method, redact_url(url), delay, attempt + 1
            )
            await asyncio.sleep(delay)

    async def _unless_closed(self, sending: Coroutine[Any, Any, Fetched]) -> Fetched:
        """Run a request on a session we do not own, ending it if the client is closed.

        The caller's session stays open, so closing the client cannot end its requests;
        this race does, within the same second.
        """
        closing = (self._parent or self)._closing
        send = asyncio.ensure_future(sending)
        watch = asyncio.ensure_future(closing.wait())
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

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        query: dict[str, str],
        body: bytes | None,
        auth: Auth,
        timeout: float | None,
        attempt: int,
        decode: Decode,
    ) -> Fetched:
        headers: Mapping[str, str] = self._headers[auth, body is not None]
        if auth == "read" and self.read_auth == "query":
            query = {**query, "auth_token": self._read_token}
        target = url.update_query(query) if query else url
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else self._client_timeout
        started = time.perf_counter()
        self.stats.requests += 1
        for _hop in range(_MAX_REDIRECTS + 1):
            # aiohttp's exceptions carry the request URL, token included: each is replaced
            # by a scrubbed one raised outside the handler, so nothing chains to it.
            failure: ButterError | None = None
            try:
                async with session.request(
                    method,
                    target,
                    data=body,
                    headers=headers,
                    timeout=client_timeout,
                    allow_redirects=False,
                ) as response:
                    if response.status in _REDIRECT_STATUSES and "Location" in response.headers:
                        target, headers = self._redirect(target, response, headers, method)
                        continue
                    raw = await self._read_body(response, method, target)
                    status = response.status
                    response_headers = response.headers
            except TimeoutError:
                failure = RequestTimeoutError(
                    f"request timed out after {timeout or self.timeout:g}s",
                    method=method,
                    url=redact_url(target),
                )
            except asyncio.CancelledError:
                # Closing the session cancels requests waiting for a pooled connection;
                # unless this task itself is being cancelled, that is a closed client.
                task = asyncio.current_task()
                if not session.closed or (task is not None and task.cancelling()):
                    raise
                failure = ClientClosedError("the ButterClient was closed during this request")
            except RuntimeError:
                if not session.closed:
                    raise
                failure = ClientClosedError("the ButterClient was closed during this request")
            except (aiohttp.ClientError, ValueError) as error:
                if session.closed:
                    failure = ClientClosedError("the ButterClient was closed during this request")
                else:
                    failure = TransportError(
                        self.redact(f"{type(error).__name__}: {error}"),
                        method=method,
                        url=redact_url(target),
                        connect_failed=isinstance(error, aiohttp.ClientConnectorError),
                    )
            if failure is not None:
                raise failure
            break
        else:
            raise TransportError("too many redirects", method=method, url=redact_url(target))
        self.stats.by_status[status] += 1
        if status != 429:
            self.stats.accepted += 1
        self.stats.bytes_received += len(raw)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (attempt %d)",
                method,
                redact_url(target),
                status,
                (time.perf_counter() - started) * 1000,
                attempt + 1,
            )
        return self._decode(status, raw, response_headers, method, target, decode), raw

    def _redirect(
        self,
        target: URL,
        response: aiohttp.ClientResponse,
        headers: Mapping[str, str],
        method: str,
    ) -> tuple[URL, Mapping[str, str]]:
        """Follow a redirect; credentials go along only to the same origin.

        A `Location` that is not an http(s) URL with a valid port, or that leaves https
        for plain http off loopback, is a TransportError.
        """
        raw_location = response.headers["Location"]
        try:
            location = target.join(URL(raw_location))
            location.port  # noqa: B018  (yarl checks the port range when asked)
            valid = location.scheme in ("http", "https") and bool(location.host)
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise TransportError(
                self.redact(f"redirect to an unusable Location {raw_location[:200]!r}"),
                method=method,
                url=redact_url(target),
            )
        if location.scheme == "http" and target.scheme == "https":
            raise TransportError(
                "redirect from https to plain http refused", method=method, url=redact_url(target)
            )
        if location.origin() == target.origin():
            if "auth_token" in target.query and "auth_token" not in location.query:
                location = location.update_query(auth_token=target.query["auth_token"])
            return location, headers
        stripped = {k: v for k, v in headers.items() if k != "Authorization"}
        return location.without_query_params("auth_token"), stripped

    async def _read_body(self, response: aiohttp.ClientResponse, method: str, url: URL) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_body_size:
            raise InvalidResponseError(
                f"response body of {declared} bytes exceeds max_body_size={self.max_body_size}",
                status=response.status,
                method=method,
                url=redact_url(url),
                body="",
            )
        if declared is not None and "Content-Encoding" not in response.headers:
            return await response.read()  # the declared size, already checked, is all we read
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > self.max_body_size:
                raise InvalidResponseError(
                    f"response body exceeds max_body_size={self.max_body_size}",
                    status=response.status,
                    method=method,
                    url=redact_url(url),
                    body="",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def not_json(
        self, raw: bytes, status: int, method: str, url: URL
    ) -> InvalidResponseError:
        """The error for a successful answer whose body is not JSON."""
        return InvalidResponseError(
            "response body is not valid JSON (truncated, or an HTML page from a proxy?)",
            status=status,
            method=method,
            url=redact_url(url),
            body=self.redact(raw.decode("utf-8", "replace"))[:200],
        )

    def _decode(
        self,
        status: int,
        raw: bytes,
        headers: Mapping[str, str],
        method: str,
        url: URL,
        decode: Decode,
    ) -> Any:
        if status == 204 or (not raw and status < 400):
            return None
        try:
            payload: Any = decode(raw) if status < 400 else orjson.loads(raw)
        except ValueError:  # orjson's and msgspec's errors for a body that is not JSON
            if status < 400:
                raise self.not_json(raw, status, method, url) from None
            payload = self.redact(raw.decode("utf-8", "replace"))[:200]
        if status < 400:
            return payload
        raise api_error(
            status,
            payload,
            method=method,
            url=redact_url(url),
            retry_after=parse_retry_after(headers.get("Retry-After")),
            redact=self.redact,
        )
