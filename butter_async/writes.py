"""Write results, and the rules that make creates and deletes safe to retry.

A write that fails after it may have been applied (timeout, dropped connection, 5xx other
than 503) is ambiguous. Blindly sending it again could create a duplicate, so a create is
retried only after reading back that the object does not exist yet, and a duplicate-slug
400 on a retry is recognised as our own earlier attempt having landed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import Token
from typing import Literal

import attrs

from .errors import (
    AmbiguousWriteError,
    APIError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    TransportError,
    VisibilityTimeoutError,
)
from .retries import RetryPolicy
from .transport import RATE_LIMITS_TO_CALLER, ride_out_rate_limits

ObjectKind = Literal["page", "post", "collection_item"]
WriteOutcome = Literal["created", "updated", "deleted", "already_existed"]
Probe = Callable[[], Awaitable[bool]]


@attrs.frozen
class WriteResult:
    """What a write did: `pending` means the API accepted it (202) for processing.

    `confirmed_by_read` is set when an ambiguous failure was resolved by reading the
    object back instead of sending the write again.
    """

    kind: ObjectKind
    key: str
    outcome: WriteOutcome
    attempts: int
    pending: bool = True
    confirmed_by_read: bool = False
    visible: Probe | None = attrs.field(default=None, repr=False, eq=False)

    async def wait_until_visible(self, timeout: float = 30.0, interval: float = 0.25) -> None:
        """Poll the read API until the write shows (or, for a delete, the object is gone)."""
        if self.visible is None:
            return
        deadline = time.monotonic() + timeout
        while not await self.visible():
            if time.monotonic() >= deadline:
                raise VisibilityTimeoutError(
                    f"{self.kind} {self.key!r} not visible after {timeout:g}s"
                )
            await asyncio.sleep(interval)


def is_ambiguous(error: BaseException) -> bool:
    """Whether a failed write may nevertheless have been applied."""
    if isinstance(error, TransportError | InvalidResponseError):
        return True
    return (
        isinstance(error, APIError)
        and error.status >= 500
        and error.status != 503
        and not isinstance(error, RateLimitError)
    )


def is_duplicate_slug(error: BadRequestError) -> bool:
    """Whether a 400 says the slug is already taken."""
    messages = error.field_errors.get("slug", [])
    return any("exist" in message.lower() or "unique" in message.lower() for message in messages)


def shows_scalars(actual: object, wanted: Mapping[str, object]) -> bool:
    """Whether `actual` (a fields mapping) has every scalar value of `wanted`.

    Only scalars are compared: components merge and pickers change shape when read.
    """
    if not isinstance(actual, Mapping):
        return False
    return all(
        actual.get(key) == value
        for key, value in wanted.items()
        if isinstance(value, str | int | float | bool) or value is None
    )


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def shows_whole_item(actual: object, wanted: Mapping[str, object]) -> bool:
    """Whether a read item is exactly what a full replace (PUT) sent.

    Every scalar sent must be there, and every field the replace left out must read
    back empty: a leftover value means the server merged instead of replacing.
    """
    if not shows_scalars(actual, wanted):
        return False
    assert isinstance(actual, Mapping)
    return all(
        _is_empty(value) for key, value in actual.items() if key not in wanted and key != "meta"
    )


async def exists(read: Callable[[], Awaitable[object]]) -> bool:
    """True when `read` succeeds, False when it answers 404."""
    try:
        await read()
    except NotFoundError:
        return False
    return True


async def create_resolving(
    send: Callable[[], Awaitable[object]],
    probe: Probe | None,
    *,
    retry: RetryPolicy,
    check_first: bool = False,
) -> tuple[WriteOutcome, int, bool]:
    """Send a create until it is known to have landed: (outcome, attempts, confirmed_by_read).

    With `check_first` (resuming a job) the object is looked for before any send.
    """
    attempts = 0
    ambiguous = check_first
    riding = ride_out_rate_limits() if ambiguous else None
    try:
        while True:
            if ambiguous:
                if probe is None:
                    raise AmbiguousWriteError(
                        "the create may have been applied and cannot be checked by reading back"
                    )
                if await probe():
                    return ("created" if attempts else "already_existed"), attempts, True
            attempts += 1
            try:
                await send()
            except BadRequestError as error:
                if not is_duplicate_slug(error):
                    raise
                if ambiguous and attempts > 1:
                    return "created", attempts, True
                return "already_existed", attempts, False
            except (APIError, TransportError, InvalidResponseError) as error:
                if not is_ambiguous(error) or attempts > retry.max_retries:
                    raise
                if riding is None:
                    riding = ride_out_rate_limits()
                ambiguous = True
                await asyncio.sleep(retry.backoff(attempts - 1))
            else:
                return "created", attempts, False
    finally:
        if riding is not None:
            RATE_LIMITS_TO_CALLER.reset(riding)


async def delete_resolving(
    send: Callable[[], Awaitable[object]], *, retry: RetryPolicy
) -> tuple[int, bool]:
    """Send a delete until it is known to have landed: (attempts, confirmed_by_read)."""
    attempts = 0
    riding: Token[bool] | None = None
    try:
        while True:
            attempts += 1
            try:
                await send()
            except NotFoundError:
                if attempts == 1:
                    raise
                return attempts, True
            except (APIError, TransportError, InvalidResponseError) as error:
                if not is_ambiguous(error) or attempts > retry.max_retries:
                    raise
                if riding is None:
                    riding = ride_out_rate_limits()
                await asyncio.sleep(retry.backoff(attempts - 1))
            else:
                return attempts, False
    finally:
        if riding is not None:
            RATE_LIMITS_TO_CALLER.reset(riding)
