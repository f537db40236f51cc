"""A running emulator's mutable knobs and observations, reachable from every request."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import attrs
from aiohttp import web

from .faults import FaultPlan, Latency, RateLimitKind, rate_limiter
from .store import Change, ContentStore
from .webhook_sender import WebhookSender, WebhookTarget


@attrs.frozen
class RequestRecord:
    """One request the emulator served, for tests to inspect."""

    method: str
    path: str
    query: str
    status: int
    auth_header: bool
    user_agent: str
    client_header: str
    at: float


REQUEST_LOG_LIMIT = 200_000


class EmulatorState:
    """The mutable knobs and observations of a running emulator."""

    def __init__(
        self,
        store: ContentStore,
        *,
        read_token: str,
        write_token: str,
        latency: Latency = 0.0,
        write_latency: Latency | None = None,
        rate_limit: float | None = None,
        rate_limit_kind: RateLimitKind = "bucket",
        quota: int | None = None,
        processing_delay: float = 0.0,
        faults: FaultPlan | None = None,
        fractional_retry_after: bool = False,
        redirect_base: str | None = None,
        webhooks: list[WebhookTarget] | None = None,
    ) -> None:
        self.store = store
        self.read_token = read_token
        self.write_token = write_token
        self.latency = latency
        self.write_latency = write_latency
        self.limiter = rate_limiter(rate_limit, rate_limit_kind) if rate_limit else None
        self.quota = quota
        self.processing_delay = processing_delay
        self.faults = faults or FaultPlan()
        self.fractional_retry_after = fractional_retry_after
        self.redirect_base = redirect_base
        self.requests: list[RequestRecord] = []
        self.request_log_limit = REQUEST_LOG_LIMIT
        self.status_counts: Counter[int] = Counter()
        self.endpoint_counts: Counter[str] = Counter()
        self.calls = 0
        self.pending: set[tuple[str, str]] = set()
        self.webhooks = WebhookSender(webhooks or ())
        self._scheduled: dict[asyncio.TimerHandle, Callable[[], None]] = {}

    def set_rate_limit(self, rate: float | None, kind: RateLimitKind = "bucket") -> None:
        """Change (or remove, with None) the requests-per-second limit."""
        self.limiter = rate_limiter(rate, kind) if rate else None

    def reset_counters(self) -> None:
        """Forget the request log and counters."""
        self.requests.clear()
        self.status_counts.clear()
        self.endpoint_counts.clear()

    def delay_for(self, method: str) -> float:
        """The latency to inject before answering a request of `method`."""
        knob = self.latency if method == "GET" or self.write_latency is None else self.write_latency
        return knob() if callable(knob) else knob

    def apply_later(
        self, mutation: Callable[[], list[Change]], pending_key: tuple[str, str] | None
    ) -> None:
        """Apply an accepted write now, or after the processing delay (202 semantics).

        Its webhooks go out once it is applied, in the background.
        """

        def apply() -> None:
            try:
                self.webhooks.send(mutation())
            finally:
                if pending_key is not None:
                    self.pending.discard(pending_key)

        if self.processing_delay <= 0:
            apply()
            return
        if pending_key is not None:
            self.pending.add(pending_key)
        handle: asyncio.TimerHandle

        def run() -> None:
            self._scheduled.pop(handle, None)
            apply()

        handle = asyncio.get_running_loop().call_later(self.processing_delay, run)
        self._scheduled[handle] = apply

    def flush_pending(self) -> None:
        """Apply every write still waiting for its processing delay, now."""
        scheduled, self._scheduled = self._scheduled, {}
        for handle, apply in scheduled.items():
            handle.cancel()
            apply()


STATE_KEY = web.AppKey("butter_state", EmulatorState)


def state_of(request: web.Request) -> EmulatorState:
    """The emulator state behind a request."""
    return request.app[STATE_KEY]
