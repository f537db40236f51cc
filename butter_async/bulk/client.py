"""What the bulk writer needs of a client."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from yarl import URL

from ..operations import WriteClient
from ..retries import RetryPolicy
from ..transport import ClientStats, OnRateLimit
from ..writes import WriteCall, WriteResult


class BulkClient(WriteClient, Protocol):
    """What the bulk writer needs of a client (`ButterClient` is one; so can a fake be)."""

    @property
    def retry(self) -> RetryPolicy: ...

    @property
    def closed(self) -> bool: ...

    @property
    def base_url(self) -> URL: ...

    @property
    def account_fingerprint(self) -> str: ...

    def require_write_token(self) -> None: ...

    def reserve_connections(self, wanted: int) -> int: ...

    @property
    def stats(self) -> ClientStats: ...

    def on_rate_limited(self, callback: Callable[[float | None], None]) -> Callable[[], None]: ...

    def send(
        self,
        call: WriteCall,
        *,
        check_first: bool = False,
        on_rate_limit: OnRateLimit = "wait",
    ) -> Coroutine[Any, Any, WriteResult]: ...
