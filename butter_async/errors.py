"""The exception hierarchy: every error the SDK raises derives from `ButterError`."""

from __future__ import annotations

import builtins
from typing import Any


class ButterError(Exception):
    """Base class of every error raised by butter_async."""


class ConfigurationError(ButterError, ValueError):
    """The client was configured or called with arguments it cannot use."""


class MissingWriteTokenError(ConfigurationError):
    """A write was attempted on a client that has no write token."""


class ClientClosedError(ButterError, RuntimeError):
    """The client was used after it was closed, or outside the loop that owns it."""


class TransportError(ButterError):
    """The request did not produce an HTTP response (connection refused, reset, DNS...)."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(f"{message} ({method} {url})")
        self.method = method
        self.url = url


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
