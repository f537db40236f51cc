"""Request coalescing: identical reads in flight at the same time share one upstream call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any

import attrs

#: What one upstream read gives: the decoded payload and the body it was decoded from.
Fetched = tuple[Any, bytes]
#: How a caller turns an answer's body into its payload (`orjson.loads`, or typed models).
Decode = Callable[[bytes], Any]


@attrs.define
class _Flight:
    task: asyncio.Task[Fetched]
    waiters: int = 0


class Coalescer:
    """Runs each distinct read once while it is in flight and hands every caller the result.

    The first caller gets the payload as decoded; every other caller decodes the same
    body again with its own `decode`, so no two callers share a mutable object. A caller
    that is cancelled leaves the request running for the others; only when the last
    caller leaves is it cancelled, and forgotten at once. A caller never gets a
    cancellation that was not its own: if the shared call is cancelled under it, it
    reads again. An error reaches every caller.
    """

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight] = {}

    @property
    def in_flight(self) -> int:
        """How many distinct reads are under way."""
        return len(self._flights)

    def is_running(self, key: Hashable) -> bool:
        """Whether a read under `key` is in flight."""
        return key in self._flights

    async def run(
        self, key: Hashable, fetch: Callable[[], Awaitable[Fetched]], decode: Decode
    ) -> tuple[Any, bool]:
        """The payload of `fetch()`, and whether it came from a call already running
        under `key` (the caller joined it instead of sending its own)."""
        while True:
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = _Flight(asyncio.ensure_future(fetch()))
                self._flights[key] = flight
                flight.task.add_done_callback(partial(self._landed, key))
            flight.waiters += 1
            try:
                payload, body = await asyncio.shield(flight.task)
            except asyncio.CancelledError:
                flight.waiters -= 1
                if _cancelled_itself():
                    if flight.waiters == 0 and not flight.task.done():
                        self._abandon(key, flight)
                        # the request ends before the caller's cancellation does, as it
                        # would have without the shared task
                        await asyncio.gather(flight.task, return_exceptions=True)
                    raise
                # The shared call was cancelled under a caller who was not: read again.
                self._abandon(key, flight)
                continue
            flight.waiters -= 1
            return (payload if owner or not body else decode(body)), not owner

    def _abandon(self, key: Hashable, flight: _Flight) -> None:
        """Cancel a flight nobody waits for and forget it at once, so that a caller who
        comes next starts a read of its own instead of joining a cancelled one."""
        if self._flights.get(key) is flight:
            del self._flights[key]
        flight.task.cancel()

    def _landed(self, key: Hashable, task: asyncio.Task[Fetched]) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight.task is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not logged as lost


def _cancelled_itself() -> bool:
    """Whether the running task is being cancelled (rather than a call it awaited)."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
