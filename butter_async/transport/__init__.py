"""The session manager: a session shared by a client and its views (`session`), each view
sending with its own options (`view`), one attempt at a time through redirects
(`redirects`), aiohttp's failures mapped (`failures`) and answers read (`responses`)."""

from .session import ClientStats, SharedSession
from .settings import (
    CLIENT_HEADER,
    DEFAULT_CONNECTOR_LIMIT,
    DEFAULT_MAX_BODY_SIZE,
    SESSION_HEADERS,
    USER_AGENT,
    Auth,
    ClientOptions,
    ClientSettings,
    OnRateLimit,
    Params,
    QueryValue,
    ReadAuth,
    with_max_retries,
)
from .view import Transport

__all__ = [
    "CLIENT_HEADER",
    "DEFAULT_CONNECTOR_LIMIT",
    "DEFAULT_MAX_BODY_SIZE",
    "SESSION_HEADERS",
    "USER_AGENT",
    "Auth",
    "ClientOptions",
    "ClientSettings",
    "ClientStats",
    "OnRateLimit",
    "Params",
    "QueryValue",
    "ReadAuth",
    "SharedSession",
    "Transport",
    "with_max_retries",
]
