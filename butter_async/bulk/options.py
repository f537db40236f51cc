"""How a bulk writer runs its jobs: every option defined, defaulted and checked once."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypedDict

import attrs

from ..errors import ConfigurationError
from ..operations import DEFAULT_MAX_PAYLOAD_BYTES
from .results import BulkProgress
from .shared_pace import RedisPace

DEFAULT_MAX_RATE_LIMIT_WAIT = 300.0
"""Seconds a job may spend paused by 429s in all before its remaining inputs fail fast."""
DEFAULT_MAX_IDENTICAL_FAILURES = 20
"""Inputs in a row the API refuses with the same error before a job stops: an error every
input meets (a missing field of the schema, say) costs this many requests, not one per
input."""


@attrs.frozen(kw_only=True)
class BulkSettings:
    """The options of `BulkWriter`, with their defaults; invalid values raise
    ConfigurationError when the writer is made."""

    concurrency: int = 32
    rate_limit: float | None = None
    journal: str | os.PathLike[str] | None = None
    journal_override: bool = False
    job_id: str | None = None
    fail_fast: bool = False
    max_failures: int | None = None
    progress: Callable[[BulkProgress], None] | None = None
    progress_interval: float = 0.1
    adaptive: bool = True
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    max_rate_limit_wait: float | None = DEFAULT_MAX_RATE_LIMIT_WAIT
    max_identical_failures: int | None = DEFAULT_MAX_IDENTICAL_FAILURES
    shared_pace: RedisPace | None = None

    def __attrs_post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ConfigurationError("rate_limit must be positive (requests per second)")
        if self.max_failures is not None and self.max_failures < 1:
            raise ConfigurationError("max_failures must be at least 1")
        if self.max_rate_limit_wait is not None and self.max_rate_limit_wait < 0:
            raise ConfigurationError("max_rate_limit_wait must not be negative (seconds)")
        if self.max_identical_failures is not None and self.max_identical_failures < 1:
            raise ConfigurationError("max_identical_failures must be at least 1 (or None)")
        if self.shared_pace is not None and not self.adaptive:
            raise ConfigurationError("shared_pace shares the adaptive pace: drop adaptive=False")

    @property
    def failure_limit(self) -> int | None:
        """Failures after which a job stops (1 with `fail_fast`)."""
        return 1 if self.fail_fast else self.max_failures


class BulkOptions(TypedDict, total=False):
    """`BulkSettings` as keyword options, as `BulkWriter`, `butter.bulk()` and `bulk_run()`
    take them (a test keeps the two in step)."""

    concurrency: int
    rate_limit: float | None
    journal: str | os.PathLike[str] | None
    journal_override: bool
    job_id: str | None
    fail_fast: bool
    max_failures: int | None
    progress: Callable[[BulkProgress], None] | None
    progress_interval: float
    adaptive: bool
    max_payload_bytes: int
    max_rate_limit_wait: float | None
    max_identical_failures: int | None
    shared_pace: RedisPace | None
