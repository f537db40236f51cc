"""A walk over a list that moves under it: noticing the move at a page boundary and
finding, fresh, where the walk stands in the list as it is now."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic

import attrs

from ..models.meta import ListMeta
from .pages import PageReader, PaginationMode, ResultPage, T

#: Pages on each side of where the last item yielded should be that a walk reads again,
#: fresh, to find it after the list moved.
SHIFT_SEARCH_PAGES = 2
#: Times a walk reads the pages around its position again when the list moves while it
#: does so.
SHIFT_RETRIES = 3

logger = logging.getLogger("butter_async.pagination")

Fetch = Callable[[int, int], Awaitable[PageReader[T]]]


class Realigner(Generic[T]):
    """Tells whether the list moved between two pages (by `identity` and `meta.count`)
    and reads, through `refetch(position, page_size)`, where the walk resumes."""

    def __init__(
        self, identity: Callable[[T], Hashable], refetch: Fetch[T], mode: PaginationMode
    ) -> None:
        self._identity = identity
        self._refetch = refetch
        self.mode = mode

    def moved(self, page: ResultPage[T], following: ResultPage[T]) -> bool:
        """Whether the list moved between reading `page` and `following`, its next page."""
        if not page.items:
            return False
        if following.meta.count != page.meta.count:
            return True
        if not following.items:
            return False
        last = self._identity(page.items[-1])
        return last is not None and self._identity(following.items[0]) == last

    async def resume_after(
        self, page: ResultPage[T], following: ResultPage[T], page_size: int
    ) -> ResultPage[T]:
        """The page that continues the walk right after the last item of `page`, read
        again in the list as it is now, without the items `page` held."""
        identity = self._identity
        yielded = [identity(item) for item in page.items]
        last_index = self._index_of(page, len(page.items) - 1, page_size)
        count = following.meta.count
        for _ in range(SHIFT_RETRIES):
            moved_by = (count or 0) - (page.meta.count or 0)
            guess = max(0, last_index + moved_by)
            first = max(0, guess // page_size - SHIFT_SEARCH_PAGES)
            found: list[tuple[int, Hashable]] = []  # (index now, identity) of pages read
            counts: set[int | None] = set()
            for number in range(first, guess // page_size + SHIFT_SEARCH_PAGES + 1):
                fresh = await self._read_fresh(number * page_size, page_size)
                counts.add(fresh.meta.count)
                found += [(fresh.position_index + i, identity(item)) for i, item in fresh.items]
                if len(fresh.items) < page_size:
                    break
            now = {key: index for index, key in found}
            survivors = [key for key in reversed(yielded) if key in now]
            resume_at = now[survivors[0]] + 1 if survivors else last_index + 1 + moved_by
            resumed = await self._read_fresh(max(0, resume_at), page_size)
            counts.add(resumed.meta.count)
            count = resumed.meta.count
            if len(counts) == 1:  # every read saw the same list: the position holds
                break
        logger.info(
            "the list moved during the walk (%+d items); resuming after %r, read again",
            moved_by,
            survivors[0] if survivors else None,
        )
        seen = set(yielded)
        items = [item for _, item in resumed.items if identity(item) not in seen]
        return ResultPage(items, resumed.meta, resumed.position, resumed.start)

    def _index_of(self, page: ResultPage[T], item: int, page_size: int) -> int:
        """The index in the whole list of `page.items[item]`."""
        if self.mode == "offset":
            return page.position + item
        return (page.position - 1) * page_size + page.start + item

    async def _read_fresh(self, index: int, page_size: int) -> _FreshPage[T]:
        """The items from list index `index` to the end of its page, read fresh."""
        if self.mode == "offset":
            position, start = index, 0
        else:
            position, start = index // page_size + 1, index % page_size
        read = (await self._refetch(position, page_size))()
        items = list(enumerate(read.items))[start:]
        return _FreshPage(items, read.meta, position, start, index - start)


@attrs.frozen
class _FreshPage(Generic[T]):
    """Items of a page read again after the list moved, each with its index in the page."""

    items: list[tuple[int, T]]
    meta: ListMeta
    position: int
    start: int
    position_index: int
    """The list index of the page's first item."""
