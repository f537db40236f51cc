"""Every exception the SDK raises, and the mapping of API error answers to them.

ButterError
├── ConfigurationError (ValueError)      bad arguments or settings, nothing was sent
│   ├── MissingWriteTokenError           a write on a client without a write token
│   ├── InvalidOperationError            a bulk operation that cannot be sent
│   └── JournalMismatchError (also a JournalError)
├── JournalError                         a bulk journal that cannot be used or record
│   ├── JournalLockedError               in use by another job
│   └── JournalMismatchError             written for another target, account or job
├── JsonLinesError (ValueError)          a malformed line of an import file
├── ClientClosedError (RuntimeError)     the client was closed
├── TransportError                       no HTTP answer (refused, reset, DNS...)
│   └── RequestTimeoutError (TimeoutError)
├── InvalidResponseError                 an answer that is not the promised JSON
├── ResponseValidationError              JSON that does not fit the model
├── AmbiguousWriteError                  a write that may or may not have landed
├── VisibilityTimeoutError (TimeoutError) an accepted write not readable in time
├── WebhookError                         a webhook call to refuse (with its status)
├── CacheBackendError                    the read cache's store failed an invalidation
└── APIError                             an HTTP error answer
    ├── BadRequestError                  400
    ├── AuthenticationError              401
    ├── PermissionDeniedError            403
    ├── NotFoundError                    404
    ├── MethodNotAllowedError            405
    ├── RateLimitError                   429
    └── ServerError                      5xx
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import orjson


class ButterError(Exception):
    """Base class of every error raised by butter_async."""


class ConfigurationError(ButterError, ValueError):
    """The client was configured or called with arguments it cannot use."""


class MissingWriteTokenError(ConfigurationError):
    """A write was attempted on a client that has no write token."""


class InvalidOperationError(ConfigurationError):
    """A bulk operation that cannot be sent: the message says which field is wrong."""


class JournalError(ButterError):
    """A bulk job's journal cannot be used: in use by another job, damaged, not a journal,
    or failing to record (disk full, read-only, I/O error). The message names the file,
    what is wrong and what to do. A job it stopped attaches its `report`: what was sent,
    and how many outcomes were sent but not recorded (`report.unrecorded`)."""

    report: Any = None


class JournalLockedError(JournalError):
    """Another job holds the journal; nothing was sent."""


class JournalMismatchError(JournalError, ConfigurationError):
    """A bulk journal was written for another target, account or job; nothing was sent."""


class JsonLinesError(ButterError, ValueError):
    """A line of an import file is malformed; the message names the file, line and field."""


class ImportTargetError(ButterError):
    """The target lacks what an import file needs (a page type, a collection, an author),
    or a collection import would duplicate items already there; nothing was sent."""


class ClientClosedError(ButterError, RuntimeError):
    """The client was used after it was closed, or outside the loop that owns it."""


class TransportError(ButterError):
    """The request did not produce an HTTP response (connection refused, reset, DNS...).

    `connect_failed` is set when no connection was made, so the server never saw it.
    """

    def __init__(
        self, message: str, *, method: str, url: str, connect_failed: bool = False
    ) -> None:
        super().__init__(f"{message} ({method} {url})")
        self.method = method
        self.url = url
        self.connect_failed = connect_failed


class RequestTimeoutError(TransportError, builtins.TimeoutError):
    """The request did not complete within its timeout."""


class InvalidResponseError(ButterError):
    """The server answered with a body that is not the JSON the API promises.

    Typical causes: an HTML error page from a proxy or CDN, or a body truncated in transit.
    """

    def __init__(self, message: str, *, status: int, method: str, url: str, body: str) -> None:
        super().__init__(f"{message} (HTTP {status}, {method} {url})")
        self.status = status
        self.method = method
        self.url = url
        self.body = body


class ResponseValidationError(ButterError):
    """A JSON payload did not fit the model it was structured into."""


class AmbiguousWriteError(ButterError):
    """A write may or may not have been applied, and reading back could not tell."""


class VisibilityTimeoutError(ButterError, builtins.TimeoutError):
    """An accepted write did not become visible through the read API in time."""


class WebhookError(ButterError):
    """A webhook call that must be refused; `status` is the HTTP answer to give."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CacheBackendError(ButterError):
    """The read cache's store (e.g. Redis) failed while making entries stale: they may
    be served until their `ttl` ends. Reads never raise it; they go to ButterCMS."""


class APIError(ButterError):
    """The API answered with an error status."""

    def __init__(
        self,
        *,
        status: int,
        detail: str,
        method: str,
        url: str,
        body: Any = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {detail} ({method} {url})")
        self.status = status
        self.detail = detail
        self.method = method
        self.url = url
        self.body = body


class BadRequestError(APIError):
    """400: invalid parameters or data; `field_errors` maps a field to its messages."""

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """The per-field messages of the body, when the API sent them."""
        if not isinstance(self.body, dict):
            return {}
        errors: dict[str, list[str]] = {}
        for key, value in self.body.items():
            if key == "detail":
                continue
            if isinstance(value, list):
                errors[key] = [str(message) for message in value]
            else:
                errors[key] = [str(value)]
        return errors


class AuthenticationError(APIError):
    """401: the token is missing or invalid."""


class PermissionDeniedError(APIError):
    """403: the token may not do this, or a collection filter/order is invalid."""


class NotFoundError(APIError):
    """404: no such object."""


class MethodNotAllowedError(APIError):
    """405: the endpoint does not support the method."""


class RateLimitError(APIError):
    """429: the API's rate limit or monthly quota is spent.

    `retry_after` is the server's `Retry-After` in seconds, when it sent one.
    """

    def __init__(
        self,
        *,
        status: int,
        detail: str,
        method: str,
        url: str,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status=status, detail=detail, method=method, url=url, body=body)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the API failed."""


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
}


def error_class_for(status: int) -> type[APIError]:
    """The exception class the SDK raises for an HTTP error status."""
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status, APIError)


def api_error(
    status: int,
    payload: Any,
    *,
    method: str,
    url: str,
    retry_after: float | None,
    redact: Callable[[str], str],
) -> APIError:
    """The exception for an error answer: its class by status, its detail from the body.

    `payload` is the decoded JSON body, or the text of a body that is not JSON; `url` is
    already redacted, and `redact` removes secrets from the detail.
    """
    detail = payload.get("detail") if isinstance(payload, dict) else None
    if isinstance(detail, str):
        detail = redact(detail)
    elif isinstance(payload, str):
        detail = f"non-JSON error body: {redact(payload)[:80]!r}"
    else:
        # Masked before it is cut, so a cut can never leave part of a token behind.
        detail = redact(orjson.dumps(payload).decode())[:200]
    error_class = error_class_for(status)
    if error_class is RateLimitError:
        return RateLimitError(
            status=status,
            detail=detail,
            method=method,
            url=url,
            body=payload,
            retry_after=retry_after,
        )
    return error_class(status=status, detail=detail, method=method, url=url, body=payload)
