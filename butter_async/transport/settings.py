"""A client's settings: every option of `ButterClient` defined, defaulted and checked once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypedDict

import aiohttp
import attrs
from yarl import URL

from ..__version__ import __version__
from ..errors import ConfigurationError
from ..retries import RetryPolicy

if TYPE_CHECKING:  # the cache backends load with the first one made
    from ..cache.backends import CacheBackend
from .urls import DEFAULT_BASE_URL, check_token

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
SESSION_HEADERS = {
    "User-Agent": USER_AGENT,
    "X-Butter-Client": CLIENT_HEADER,
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
}
"""Headers every request carries: the session's own when we make it."""


@attrs.frozen(kw_only=True)
class ClientSettings:
    """How a client talks to ButterCMS (see `ButterClient`); invalid values raise
    ConfigurationError when the client is made. Tokens never show in its repr."""

    read_token: str = attrs.field(repr=False)
    write_token: str | None = attrs.field(default=None, repr=False)
    base_url: str | URL = DEFAULT_BASE_URL
    session: aiohttp.ClientSession | None = None
    timeout: float = 30.0
    max_retries: int | None = None
    retry: RetryPolicy | None = None
    connector_limit: int = DEFAULT_CONNECTOR_LIMIT
    preview: bool = False
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    trace_configs: Sequence[aiohttp.TraceConfig] = ()
    read_auth: ReadAuth = "query"
    cache: CacheBackend | None = None
    coalesce: bool = True

    def __attrs_post_init__(self) -> None:
        check_token("read_token", self.read_token)
        if self.write_token is not None:
            check_token("write_token", self.write_token)
        if self.read_auth not in ("query", "header"):
            raise ConfigurationError("read_auth must be 'query' or 'header'")
        if self.timeout <= 0:
            raise ConfigurationError("timeout must be positive")
        if self.connector_limit < 1:
            raise ConfigurationError("connector_limit must be at least 1")

    @property
    def retry_policy(self) -> RetryPolicy:
        """`retry` (or the default policy), with `max_retries` when given."""
        return with_max_retries(self.retry or RetryPolicy(), self.max_retries)


def with_max_retries(policy: RetryPolicy, max_retries: int | None) -> RetryPolicy:
    """`policy`, with `max_retries` when given."""
    return policy if max_retries is None else attrs.evolve(policy, max_retries=max_retries)


class ClientOptions(TypedDict, total=False):
    """`ClientSettings` beyond the tokens, as keyword options of `ButterClient` (a test
    keeps the two in step)."""

    base_url: str | URL
    session: aiohttp.ClientSession | None
    timeout: float
    max_retries: int | None
    retry: RetryPolicy | None
    connector_limit: int
    preview: bool
    max_body_size: int
    trace_configs: Sequence[aiohttp.TraceConfig]
    read_auth: ReadAuth
    cache: CacheBackend | None
    coalesce: bool
