"""Realism and fault knobs of the emulator: latency, rate limits, quotas, planned faults.

The monthly quota is what ButterCMS documents (Free/Trial plans answer 429 once it is
spent); the per-second limits (a token bucket or a sliding window) are test knobs with no
counterpart in the API.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Literal, Protocol

import attrs

Latency = float | Callable[[], float]

FaultKind = Literal[
    "status",  # answer `status` with a JSON error body (before the request is applied)
    "html",  # answer `status` with an HTML error page, as a CDN or proxy would
    "truncate",  # apply, then send half of the JSON body and drop the connection
    "reset_before",  # drop the connection without applying the request
    "reset_after",  # apply the request, then drop the connection before answering
    "hang_after",  # apply the request, then wait `seconds` before answering
    "delay",  # wait `seconds`, then handle the request normally
    "redirect",  # answer 301 to `location` (default: the same URL on `redirect_base`)
    "change",  # run `action()` (e.g. delete or publish content), then handle the request
]


@attrs.define
class Fault:
    """One planned fault: which requests it hits and what happens to them.

    A request matches when its method is in `methods` (all when empty), its path,
    relative to the API root (e.g. `posts/`), starts with `path`, and its query has
    every item of `params` (e.g. `{"page": "3"}`). Of the matching
    requests it fires on the `nth` (1-based), on every `every`-th, or with probability
    `probability` (seeded), at most `times` times in all.
    """

    kind: FaultKind
    path: str = ""
    methods: tuple[str, ...] = ()
    params: Mapping[str, str] = attrs.field(factory=dict)
    nth: int | None = None
    every: int | None = None
    probability: float | None = None
    times: int | None = None
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    location: str | None = None
    body: dict[str, object] | None = None
    action: Callable[[], object] | None = None
    """For `change`: what an editor does at that moment, e.g.
    `lambda: emu.store.delete_post("post-000210")`; awaited if it returns an awaitable."""
    seen: int = attrs.field(default=0, init=False)
    fired: int = attrs.field(default=0, init=False)

    def matches(self, method: str, path: str, query: Mapping[str, str], rng: random.Random) -> bool:
        """Count a request and tell whether this fault fires on it."""
        if self.methods and method not in self.methods:
            return False
        if not path.startswith(self.path):
            return False
        if any(query.get(key) != value for key, value in self.params.items()):
            return False
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None:
            hit = self.seen == self.nth
        elif self.every is not None:
            hit = self.seen % self.every == 0
        elif self.probability is not None:
            hit = rng.random() < self.probability
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


class FaultPlan:
    """An ordered list of faults; the first that fires on a request decides its fate."""

    def __init__(self, faults: list[Fault] | None = None, *, seed: int = 0) -> None:
        self.faults = list(faults or [])
        self._rng = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        """Add a fault to the plan and return it (for its counters)."""
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    def pick(self, method: str, path: str, query: Mapping[str, str]) -> Fault | None:
        """The fault that fires on this request, if any (every fault counts the request)."""
        fired = None
        for fault in self.faults:
            if fault.matches(method, path, query, self._rng) and fired is None:
                fired = fault
        return fired


class RateLimiter(Protocol):
    """A per-second limit: `take()` is 0.0 when a request may pass, else seconds to wait."""

    rate: float

    def take(self) -> float: ...


RateLimitKind = Literal["bucket", "window"]


class TokenBucket:
    """A rate limit of `rate` requests per second with bursts up to `burst`."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def take(self) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is free."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


class SlidingWindow:
    """At most `rate` accepted requests in any `window` seconds; a refusal waits whole seconds.

    Its true capacity is exactly `rate / window` per second, which makes it the yardstick
    for how much of a limit a client sustains.
    """

    def __init__(
        self, rate: float, window: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 1 or window <= 0:
            raise ValueError("rate must be at least 1 and window positive")
        self.rate = rate
        self.window = window
        self._clock = clock
        self._accepted: deque[float] = deque()

    def take(self) -> float:
        """Accept when fewer than `rate` requests passed in the last window, else refuse."""
        now = self._clock()
        accepted = self._accepted
        while accepted and accepted[0] <= now - self.window:
            accepted.popleft()
        if len(accepted) < self.rate:
            accepted.append(now)
            return 0.0
        return self.window


def rate_limiter(rate: float, kind: RateLimitKind = "bucket") -> RateLimiter:
    """The per-second limiter of `kind`: a token bucket or a sliding one-second window."""
    if kind == "window":
        return SlidingWindow(rate)
    if kind == "bucket":
        return TokenBucket(rate)
    raise ValueError(f"rate limit kind must be 'bucket' or 'window', not {kind!r}")


def jittered(latency: float, jitter: float, seed: int = 0) -> Latency:
    """A latency drawn uniformly from `latency ± jitter` seconds (seeded), never below 0."""
    if jitter <= 0:
        return latency
    draw = random.Random(seed).uniform
    return lambda: max(0.0, draw(latency - jitter, latency + jitter))


def seconds_until_next_month(now: datetime | None = None) -> int:
    """Whole seconds until 00:00 UTC on the 1st of next month, when a monthly quota resets."""
    now = now or datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    reset = datetime(year, month, 1, tzinfo=UTC)
    return max(1, math.ceil((reset - now).total_seconds()))


def retry_after_header(seconds: float, *, fractional: bool) -> str:
    """A `Retry-After` value: whole seconds as HTTP specifies, or exact when asked."""
    if fractional:
        return f"{seconds:.3f}"
    return str(max(1, math.ceil(seconds)))
