"""Background refreshes of stale entries: a stale hit answers at once, and one refresh
per read fetches the fresh answer behind it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from .stats import CacheStats

logger = logging.getLogger("butter_async.cache")


class Refreshes:
    """The refreshes under way, at most one per read (by its flight key)."""

    def __init__(self, stats: CacheStats) -> None:
        self._stats = stats
        self.tasks: set[asyncio.Task[None]] = set()
        self._keys: set[Hashable] = set()

    def start(self, flight_key: Hashable, refresh: Callable[[], Awaitable[Any]]) -> None:
        """Run `refresh()` in the background unless one for the same read is under way;
        a failure is counted and logged, never raised."""
        if flight_key in self._keys:
            return

        async def run() -> None:
            try:
                await refresh()
            except Exception as error:
                self._stats.refresh_failures += 1
                logger.warning("background refresh failed: %s", type(error).__name__)

        self._stats.refreshes += 1
        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        self._keys.add(flight_key)

        def finished(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            self._keys.discard(flight_key)

        task.add_done_callback(finished)

    async def wait(self) -> None:
        """Wait until the refreshes under way have finished."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
