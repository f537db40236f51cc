"""Request coalescing: identical reads in flight at the same time share one upstream call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
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
    caller leaves is it cancelled.
    An error reaches every caller.
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
        flight = self._flights.get(key)
        owner = flight is None
        if flight is None:
            flight = _Flight(asyncio.ensure_future(fetch()))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda task: self._landed(key, task))
        flight.waiters += 1
        try:
            payload, body = await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            if flight.task.done() and flight.task.cancelled():
                raise  # the shared call itself was cancelled, e.g. by closing the client
            flight.waiters -= 1
            if flight.waiters == 0:
                flight.task.cancel()
                # the request ends before the caller's cancellation does, as it would
                # have without the shared task
                await asyncio.gather(flight.task, return_exceptions=True)
            raise
        flight.waiters -= 1
        return (payload if owner or not body else decode(body)), not owner

    def _landed(self, key: Hashable, task: asyncio.Task[Fetched]) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight.task is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not logged as lost
