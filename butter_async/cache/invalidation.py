"""Webhook invalidations folded: a burst of identical events costs two renewals, not one
per event."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .stats import CacheStats

#: Identical webhook invalidations within this many seconds cost one renewal, and one more
#: at the window's end if any came during it (so an edit made in the burst is not lost).
INVALIDATION_WINDOW = 1.0
#: Beyond this many windows open at once, invalidations are no longer folded.
MAX_INVALIDATION_WINDOWS = 10_000


class InvalidationWindows:
    """Open windows, by the tags they renewed; `renew` runs at the end of a window into
    which more invalidations of its tags were folded."""

    def __init__(
        self, renew: Callable[[tuple[str, ...]], Awaitable[None]], stats: CacheStats
    ) -> None:
        self._renew = renew
        self._stats = stats
        self._open: dict[tuple[str, ...], bool] = {}
        """Tags of a window -> whether another invalidation came during it."""
        self.tasks: set[asyncio.Task[None]] = set()

    def fold(self, tags: tuple[str, ...]) -> bool:
        """Whether an invalidation of `tags` joins a window already open for them (to be
        renewed at its end); otherwise opens one, and the caller renews now."""
        if tags in self._open:
            self._open[tags] = True
            self._stats.invalidations_folded += 1
            return True
        if len(self._open) >= MAX_INVALIDATION_WINDOWS:
            return False
        self._open[tags] = False
        task = asyncio.get_running_loop().create_task(self._close(tags))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return False

    async def wait(self) -> None:
        """Wait until every open window has closed (renewing if it must)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _close(self, tags: tuple[str, ...]) -> None:
        try:
            await asyncio.sleep(INVALIDATION_WINDOW)
        finally:
            folded = self._open.pop(tags, False)
        if folded:
            await self._renew(tags)
