"""What aiohttp raises while sending, turned into the ButterError a caller sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

import aiohttp
from yarl import URL

from ..errors import ButterError, ClientClosedError, RequestTimeoutError, TransportError
from .urls import redact_url


class MappedFailures:
    """`with mapped:` around one request: a failure of aiohttp's becomes `mapped.failure`,
    which the caller raises after the block. Raised there, it chains to nothing: aiohttp's
    exceptions carry the request URL, token included."""

    __slots__ = ("_method", "_redact", "_session", "_target", "_timeout", "failure")

    def __init__(
        self,
        session: aiohttp.ClientSession,
        method: str,
        target: URL,
        timeout: float,
        redact: Callable[[str], str],
    ) -> None:
        self._session = session
        self._method = method
        self._target = target
        self._timeout = timeout
        self._redact = redact
        self.failure: ButterError | None = None

    def __enter__(self) -> MappedFailures:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        self.failure = None if error is None else self._mapped(error)
        return self.failure is not None

    def _mapped(self, error: BaseException) -> ButterError | None:
        """The error to raise instead of `error`; None lets `error` through."""
        closed = self._session.closed
        method, url = self._method, redact_url(self._target)
        if isinstance(error, TimeoutError):
            message = f"request timed out after {self._timeout:g}s"
            return RequestTimeoutError(message, method=method, url=url)
        if isinstance(error, asyncio.CancelledError):
            # Closing the session cancels requests waiting for a pooled connection;
            # unless this task itself is being cancelled, that is a closed client.
            task = asyncio.current_task()
            if not closed or (task is not None and task.cancelling()):
                return None
        elif isinstance(error, RuntimeError):
            if not closed:
                return None
        elif not isinstance(error, aiohttp.ClientError | ValueError):
            return None
        elif not closed:
            return TransportError(
                self._redact(f"{type(error).__name__}: {error}"),
                method=method,
                url=url,
                connect_failed=isinstance(error, aiohttp.ClientConnectorError),
            )
        return ClientClosedError("the ButterClient was closed during this request")
