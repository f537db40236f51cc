"""The session a client and its `with_options` views share: the aiohttp session, the loop
it belongs to, closing, the tokens and headers, stats, 429 listeners and the read cache."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Callable, Sequence

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ..cache.reads import ReadCache
from ..cache.stats import CacheStats
from ..errors import ClientClosedError, MissingWriteTokenError
from ..heap import keep_socket_reads_on_heap
from .settings import SESSION_HEADERS, Auth, ClientSettings
from .urls import api_url, cache_namespace, parse_base_url, secret_forms


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


class SharedSession:
    """Owns (or borrows) the aiohttp session, made lazily in the running loop and bound to
    it; one per client, shared by every view `with_options` makes of it."""

    def __init__(self, settings: ClientSettings) -> None:
        self.base_url = parse_base_url(settings.base_url)
        self._urls = functools.lru_cache(maxsize=1024)(functools.partial(api_url, self.base_url))
        self._read_token = settings.read_token
        self._write_token = settings.write_token
        self._session = settings.session
        self.owns_session = settings.session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.closing = asyncio.Event()
        self.connector_limit = settings.connector_limit
        self.max_body_size = settings.max_body_size
        self.read_auth = settings.read_auth
        self._trace_configs = list(settings.trace_configs)
        namespace = cache_namespace(settings.read_token, self.base_url)
        self.reads = ReadCache(settings.cache, account=namespace, coalesce=settings.coalesce)
        self.stats = ClientStats(cache=self.reads.stats)
        self.rate_limit_listeners: list[Callable[[float | None], None]] = []
        tokens = (settings.read_token, settings.write_token)
        self._secrets = tuple(form for token in tokens if token for form in secret_forms(token))
        self.request_headers = {
            (auth, has_body): _request_headers(
                self._token_header(auth), has_body, own_session=self.owns_session
            )
            for auth in ("read", "write")
            for has_body in (False, True)
        }
        """The headers of a request beyond the session's own, by (auth, has a body)."""
        keep_socket_reads_on_heap()

    def __repr__(self) -> str:
        return (
            f"<SharedSession base_url={str(self.base_url)!r} "
            f"write_token={'set' if self._write_token else 'unset'} closed={self._closed}>"
        )

    def _token_header(self, auth: Auth) -> str | None:
        if auth == "write":
            return self._write_token
        return self._read_token if self.read_auth == "header" else None

    @property
    def read_token(self) -> str:
        """The read token (never shown in a repr, a log or an error)."""
        return self._read_token

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    def require_write_token(self) -> None:
        """Raise MissingWriteTokenError unless writes can be sent; no request is made."""
        if not self._write_token:
            raise MissingWriteTokenError(
                "this operation needs a write token: pass write_token= to ButterClient"
            )

    def url_for(self, segments: Sequence[str | int]) -> URL:
        """The endpoint URL for path segments, each percent-encoded; the last 1,024 are kept,
        as every page of a list walk and every create asks for the same one."""
        return self._urls(tuple(segments))

    def redact(self, text: str) -> str:
        """`text` with every token masked, raw or percent-encoded."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "REDACTED")
        return text

    def reserve_connections(self, wanted: int) -> int:
        """Let the pool hold `wanted` connections if it can still grow; return its size.

        The session made here takes the larger size as long as it has not been made yet;
        a session made earlier, or given by the caller, keeps its own. 0 means no limit.
        """
        if self._session is None and self.owns_session:
            self.connector_limit = max(self.connector_limit, wanted)
            return self.connector_limit
        connector = self._session.connector if self._session is not None else None
        return connector.limit if connector is not None else 0

    def get(self) -> aiohttp.ClientSession:
        """The aiohttp session, made on first use in the running loop."""
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
        """Close the session if we made it; closing twice is harmless."""
        self._closed = True
        self.closing.set()
        await self.reads.close()
        session, self._session = self._session, None
        if session is not None and self.owns_session and not session.closed:
            await session.close()
