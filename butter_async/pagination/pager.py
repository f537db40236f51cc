"""AsyncPager: streams a list endpoint page by page, fetching ahead but yielding in order."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable
from contextlib import aclosing
from typing import Generic

from ..errors import ConfigurationError
from ..models.meta import ListMeta
from .pages import (
    DEFAULT_PREFETCH,
    MAX_PAGE_SIZE,
    Cursor,
    PageReader,
    PaginationMode,
    ResultPage,
    T,
)
from .shifts import Realigner


class AsyncPager(Generic[T]):
    """An async iterable over every item of a list endpoint, in API order, each exactly once.

    The first page reveals `meta.count`; the pager then keeps up to `prefetch` further
    pages in flight, refilling as any of them arrives, and holds at most `2 * prefetch`
    pages ahead of the consumer, each read into items only when the consumer reaches it.
    Breaking out of `async for` cancels the fetches still in flight; `collect(limit=n)`
    fetches only the pages holding the first `n` items. `cursor` tells where to resume an
    interrupted walk (`resume_from=` on the list call).

    With `identity` (what tells items apart), a walk over a list that changes under it
    still yields every item that is there throughout, once: at each page boundary it
    checks that the list did not move (`meta.count` is unchanged and the next page does
    not begin with the last item yielded); when it did, it reads the pages around that
    item again, fresh (`refetch`), resumes right after it, and fetches ahead anew.
    `shifts` counts these corrections. Items created or deleted during the walk may or
    may not be yielded.
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, int], int], Awaitable[PageReader[T]]],
        *,
        page_size: int = MAX_PAGE_SIZE,
        prefetch: int = DEFAULT_PREFETCH,
        mode: PaginationMode = "page",
        resume_from: Cursor | None = None,
        identity: Callable[[T], Hashable] | None = None,
        refetch: Callable[[dict[str, int], int], Awaitable[PageReader[T]]] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if prefetch < 1:
            raise ConfigurationError("prefetch must be at least 1 (1 fetches one page at a time)")
        if mode not in ("page", "offset"):
            raise ConfigurationError("pagination must be 'page' or 'offset'")
        if resume_from is not None and (resume_from.page is None) != (mode == "offset"):
            raise ConfigurationError(f"cursor {resume_from!r} does not fit {mode!r} pagination")
        self._fetch = fetch
        refetching = refetch or fetch
        self._realigner = (
            None
            if identity is None
            else Realigner(identity, lambda at, size: refetching(self._params(at, size), at), mode)
        )
        self.shifts = 0
        """How many times a walk found the list moved under it and corrected for it."""
        self.page_size = page_size
        self.prefetch = prefetch
        self.mode = mode
        self._start = resume_from or (Cursor(page=1) if mode == "page" else Cursor(offset=0))
        # Where the latest walk stands: the current page, how many of its items were
        # yielded, and the page size it asked for. Plain values: they change on every item.
        self._page: ResultPage[T] | None = None
        self._consumed = 0
        self._walk_page_size = page_size

    @property
    def cursor(self) -> Cursor:
        """The position of the first item not yet yielded by the latest walk."""
        page, consumed = self._page, self._consumed
        if page is None:
            return self._start
        if self.mode == "offset":
            return Cursor(offset=page.position + consumed)
        if self._walk_page_size != self.page_size:  # a small first() or collect(limit=)
            index = (page.position - 1) * self._walk_page_size + consumed
            return Cursor(page=index // self.page_size + 1, skip=index % self.page_size)
        if consumed >= page.start + len(page.items):
            return Cursor(page=page.position + 1)
        return Cursor(page=page.position, skip=consumed)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def first(self) -> T | None:
        """The first item, or None when the list is empty."""
        async with aclosing(self._items(1)) as items:
            async for item in items:
                return item
        return None

    async def collect(self, limit: int | None = None) -> list[T]:
        """Every item (or the first `limit`) in a list; mind memory on big lists."""
        if limit is not None and limit < 0:
            raise ConfigurationError("limit must not be negative")
        collected: list[T] = []
        if limit == 0:
            return collected
        async with aclosing(self._items(limit)) as items:
            async for item in items:
                collected.append(item)
                if limit is not None and len(collected) >= limit:
                    break
        return collected

    async def _items(self, limit: int | None = None) -> AsyncGenerator[T, None]:
        page_size = self._page_size_for(limit)
        self._page, self._consumed, self._walk_page_size = None, 0, page_size
        skip = self._start.skip
        async with aclosing(self._pages(limit, page_size)) as pages:
            async for page in pages:
                self._page, self._consumed = page, page.start + skip
                items = page.items[skip:] if skip else page.items
                skip = 0
                for item in items:
                    self._consumed += 1
                    yield item

    def _page_size_for(self, limit: int | None) -> int:
        """The walk's page size: a limit under a page, from page 1 or any offset, is asked for
        alone (page numbers elsewhere count in `page_size` units, so those keep it)."""
        on_boundary = self._start.skip == 0 and self._start.page in (None, 1)
        if limit is not None and limit < self.page_size and on_boundary:
            return limit
        return self.page_size

    def _request(self, position: int, page_size: int) -> Awaitable[PageReader[T]]:
        return self._fetch(self._params(position, page_size), position)

    def _end(self, meta: ListMeta, page_size: int) -> int | None:
        """The first position past the last page, as far as `meta.count` tells."""
        if meta.count is None:
            return None
        if self.mode == "page":
            return math.ceil(meta.count / page_size) + 1
        return meta.count

    def _has_more(self, page: ResultPage[T]) -> bool:
        if not page.items:
            return False
        if self.mode == "page":
            return page.meta.next_page is not None
        return page.meta.next_offset is not None

    def _params(self, position: int, page_size: int) -> dict[str, int]:
        if self.mode == "page":
            return {"page": position, "page_size": page_size}
        return {"limit": page_size, "offset": position}

    def pages(self) -> AsyncGenerator[ResultPage[T], None]:
        """Yield whole pages with their meta, in order; earlier pages always come first."""
        return self._pages(None, self.page_size)

    async def _pages(
        self, limit: int | None, page_size: int
    ) -> AsyncGenerator[ResultPage[T], None]:
        """The pages holding the first `limit` items (all with None); none fetched past them.

        Up to `prefetch` requests run at once, and a slot frees as soon as its page arrives,
        in whatever order: pages that finish before an earlier one wait in a reorder buffer
        of at most `prefetch` pages, so a slow page never idles the window.
        """
        step = 1 if self.mode == "page" else page_size
        start = self._start.page if self.mode == "page" else self._start.offset
        assert start is not None
        # Items still to receive for `limit` (the skipped head of the first page counts).
        wanted = None if limit is None else self._start.skip + limit
        ahead: deque[asyncio.Task[PageReader[T]]] = deque()  # in position order
        arrived = asyncio.Event()

        def on_arrival(_: asyncio.Task[PageReader[T]]) -> None:
            arrived.set()

        try:
            page = (await self._request(start, page_size))()
            next_position = start + step
            while True:
                yield page
                if wanted is not None:
                    wanted -= len(page.items)
                if not self._has_more(page) or (wanted is not None and wanted <= 0):
                    return
                end = self._end(page.meta, page_size)
                # Pages to have requested for `limit`, assuming full pages; a short page
                # leaves `wanted` higher, so the next round asks for more.
                needed = None if wanted is None else math.ceil(wanted / page_size)
                while True:
                    running = sum(1 for task in ahead if not task.done())
                    while (
                        running < self.prefetch
                        and len(ahead) < 2 * self.prefetch
                        and (needed is None or len(ahead) < needed)
                        and (end is None or next_position < end or not ahead)
                    ):
                        task = asyncio.ensure_future(self._request(next_position, page_size))
                        task.add_done_callback(on_arrival)
                        ahead.append(task)
                        running += 1
                        next_position += step
                        if end is None:
                            break
                    if ahead[0].done():
                        break
                    arrived.clear()
                    await arrived.wait()
                following = ahead.popleft().result()()
                realigner = self._realigner
                if realigner is not None and realigner.moved(page, following):
                    for task in ahead:  # fetched before the move: every position is off
                        task.cancel()
                    await asyncio.gather(*ahead, return_exceptions=True)
                    ahead.clear()
                    self.shifts += 1
                    following = await realigner.resume_after(page, following, page_size)
                    next_position = following.position + step
                page = following
        finally:
            for task in ahead:
                task.cancel()
            if ahead:
                await asyncio.gather(*ahead, return_exceptions=True)
