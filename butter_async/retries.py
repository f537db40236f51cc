"""When and how long to wait before retrying a request."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with full jitter, honouring `Retry-After` up to a cap.

    A `Retry-After` longer than `retry_after_cap` seconds is not slept through: the
    request fails with `RateLimitError` carrying `retry_after`, so a job never sleeps
    for hours on a spent monthly quota.
    """

    max_retries: int = attrs.field(default=4, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.25, validator=attrs.validators.ge(0))
    backoff_max: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    retry_after_cap: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))

    def too_long_to_wait(self, retry_after: float | None) -> bool:
        """Whether a `Retry-After` is beyond `retry_after_cap` (a spent quota, say)."""
        return retry_after is not None and retry_after > self.retry_after_cap

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0-based) when the server gave no hint."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return random.uniform(0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date), None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None  # unparseable or absurd: treated as absent
    if seconds != seconds or seconds == float("inf"):  # NaN or infinite: absent too
        return None
    return max(0.0, seconds)
