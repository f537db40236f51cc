"""AsyncPager: order, exactly-once, bounded prefetch, cancellation, failures and resume."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from butter_async import ConfigurationError, Cursor, ListMeta, ResultPage, ServerError
from butter_async.pagination import AsyncPager, PaginationMode


class FakeAPI:
    """A list endpoint over `items` with page or offset pagination and random latency."""

    def __init__(
        self,
        items: list[int],
        *,
        seed: int = 0,
        max_latency: float = 0.003,
        max_page_size: int = 100,
    ) -> None:
        self.items = items
        self.max_page_size = max_page_size
        self.rng = random.Random(seed)
        self.max_latency = max_latency
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict[str, int]] = []
        self.completed = 0
        self.fail_at: set[int] = set()
        self.two_pages_done = asyncio.Event()

    async def fetch(self, params: dict[str, int], position: int) -> ResultPage[int]:
        self.requests.append(params)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.rng.uniform(0, self.max_latency))
            if position in self.fail_at:
                raise ServerError(status=503, detail="down", method="GET", url="u")
            count = len(self.items)
            if "page" in params:
                size = min(params["page_size"], self.max_page_size)
                start = (params["page"] - 1) * size
                chunk = self.items[start : start + size]
                more = start + size < count
                meta = ListMeta(count=count, next_page=params["page"] + 1 if more else None)
            else:
                start, size = params["offset"], min(params["limit"], self.max_page_size)
                chunk = self.items[start : start + size]
                more = start + size < count
                meta = ListMeta(count=count, next_offset=start + size if more else None)
            self.completed += 1
            if self.completed >= 2:
                self.two_pages_done.set()
            return ResultPage(items=chunk, meta=meta, position=position)
        finally:
            self.in_flight -= 1


def reading(
    fetch: Callable[[dict[str, int], int], Awaitable[ResultPage[int]]],
    read: list[int] | None = None,
) -> Callable[[dict[str, int], int], Awaitable[Callable[[], ResultPage[int]]]]:
    """A pager's fetch from one giving pages; `read` logs each page as the pager reads it."""

    async def fetch_reader(params: dict[str, int], position: int) -> Callable[[], ResultPage[int]]:
        page = await fetch(params, position)

        def reader() -> ResultPage[int]:
            if read is not None:
                read.append(position)
            return page

        return reader

    return fetch_reader


def pager(api: FakeAPI, mode: PaginationMode = "page", **options: int) -> AsyncPager[int]:
    return AsyncPager(reading(api.fetch), mode=mode, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["page", "offset"])
@pytest.mark.parametrize(
    ("count", "page_size", "prefetch"),
    [(0, 10, 4), (1, 10, 4), (10, 10, 4), (11, 10, 4), (997, 13, 8), (500, 100, 1), (250, 7, 32)],
)
async def test_items_arrive_in_order_exactly_once(
    mode: PaginationMode, count: int, page_size: int, prefetch: int
) -> None:
    api = FakeAPI(list(range(count)), seed=count)
    got = [item async for item in pager(api, mode, page_size=page_size, prefetch=prefetch)]
    assert got == list(range(count))
    pages = max(1, -(-count // page_size))
    assert len(api.requests) == pages
    assert api.max_in_flight <= prefetch


async def test_prefetch_fetches_concurrently_but_bounded() -> None:
    api = FakeAPI(list(range(1000)), max_latency=0.01)
    await pager(api, page_size=10, prefetch=8).collect()
    assert api.max_in_flight == 8


async def test_prefetch_one_is_sequential() -> None:
    api = FakeAPI(list(range(100)))
    await pager(api, page_size=10, prefetch=1).collect()
    assert api.max_in_flight == 1


async def test_pages_carry_meta_and_position() -> None:
    api = FakeAPI(list(range(25)))
    pages = [page async for page in pager(api, page_size=10).pages()]
    assert [page.position for page in pages] == [1, 2, 3]
    assert [len(page.items) for page in pages] == [10, 10, 5]
    assert pages[0].meta.count == 25
    assert pages[-1].meta.next_page is None


async def test_early_break_cancels_in_flight_fetches() -> None:
    api = FakeAPI(list(range(10_000)), max_latency=0.05)
    async for item in pager(api, page_size=10, prefetch=16):
        if item == 15:
            break
    for _ in range(5):
        await asyncio.sleep(0)
    assert api.in_flight == 0
    assert api.completed < 20
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_collect_limit_and_first_stop_early_without_leftover_tasks() -> None:
    api = FakeAPI(list(range(10_000)), max_latency=0.02)
    assert await pager(api, page_size=10).collect(limit=25) == list(range(25))
    assert await pager(api, page_size=10).first() == 0
    assert api.in_flight == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert await pager(FakeAPI([])).first() is None


@pytest.mark.parametrize("mode", ["page", "offset"])
@pytest.mark.parametrize(("limit", "pages_needed"), [(1, 1), (10, 1), (11, 2), (25, 3), (40, 4)])
async def test_collect_limit_requests_only_the_pages_it_needs(
    mode: PaginationMode, limit: int, pages_needed: int
) -> None:
    """Every request is a billed API call: a limit never pays for a prefetch it discards."""
    api = FakeAPI(list(range(10_000)))
    got = await pager(api, mode, page_size=10, prefetch=16).collect(limit=limit)
    assert got == list(range(limit))
    assert len(api.requests) == pages_needed


@pytest.mark.parametrize(
    ("cursor", "limit", "first_item", "requests"),
    [
        (Cursor(page=3, skip=4), 6, 24, [3]),
        (Cursor(page=3, skip=4), 7, 24, [3, 4]),
        (Cursor(offset=35), 20, 35, [35, 45]),
        (Cursor(offset=35), 21, 35, [35, 45, 55]),
    ],
)
async def test_collect_limit_counts_from_a_resume_cursor(
    cursor: Cursor, limit: int, first_item: int, requests: list[int]
) -> None:
    api = FakeAPI(list(range(10_000)))
    mode: PaginationMode = "page" if cursor.page is not None else "offset"
    walk = pager(api, mode, page_size=10, resume_from=cursor)  # type: ignore[arg-type]
    assert await walk.collect(limit=limit) == list(range(first_item, first_item + limit))
    assert [request.get("page", request.get("offset")) for request in api.requests] == requests


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("page", {"page": 1, "page_size": 3}), ("offset", {"limit": 3, "offset": 0})],
)
async def test_a_limit_under_a_page_asks_for_just_that_many(
    mode: PaginationMode, expected: dict[str, int]
) -> None:
    """`collect(limit=3)` for a homepage widget must not download a page of 100 posts."""
    api = FakeAPI(list(range(500)))
    assert await pager(api, mode, page_size=100).collect(limit=3) == [0, 1, 2]
    assert api.requests == [expected]


async def test_first_asks_for_one_item_and_its_cursor_resumes_at_the_second() -> None:
    api = FakeAPI(list(range(500)))
    walk = pager(api, page_size=100)
    assert await walk.first() == 0
    assert api.requests == [{"page": 1, "page_size": 1}]
    assert walk.cursor == Cursor(page=1, skip=1)
    rest = await pager(api, page_size=100, resume_from=walk.cursor).collect()  # type: ignore[arg-type]
    assert rest == list(range(1, 500))


async def test_a_small_limit_from_mid_page_keeps_the_page_size() -> None:
    """Page numbers count in page_size units, so a cursor inside a page keeps them."""
    api = FakeAPI(list(range(500)))
    walk = pager(api, page_size=10, resume_from=Cursor(page=3, skip=4))  # type: ignore[arg-type]
    assert await walk.collect(limit=2) == [24, 25]
    assert api.requests == [{"page": 3, "page_size": 10}]
    assert walk.cursor == Cursor(page=3, skip=6)


async def test_a_small_limit_from_an_offset_asks_for_just_that_many() -> None:
    api = FakeAPI(list(range(500)))
    walk = pager(api, "offset", page_size=100, resume_from=Cursor(offset=35))  # type: ignore[arg-type]
    assert await walk.collect(limit=5) == [35, 36, 37, 38, 39]
    assert api.requests == [{"limit": 5, "offset": 35}]
    assert walk.cursor == Cursor(offset=40)


async def test_collect_limit_fetches_on_when_pages_come_back_short() -> None:
    """An API that serves fewer items per page than asked still yields the whole limit."""
    api = FakeAPI(list(range(500)), max_page_size=8)
    assert await pager(api, page_size=10).collect(limit=25) == list(range(25))
    assert [request["page"] for request in api.requests] == [1, 2, 3, 4]


async def test_collect_limit_past_the_end_returns_everything() -> None:
    api = FakeAPI(list(range(25)))
    assert await pager(api, page_size=10).collect(limit=1000) == list(range(25))
    assert len(api.requests) == 3


async def test_cancelling_the_consumer_cancels_fetches() -> None:
    api = FakeAPI(list(range(10_000)), max_latency=0.05)
    consumer = asyncio.ensure_future(pager(api, page_size=10, prefetch=8).collect())
    await api.two_pages_done.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert api.in_flight == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.parametrize("mode", ["page", "offset"])
async def test_failed_page_raises_after_the_items_before_it(mode: PaginationMode) -> None:
    api = FakeAPI(list(range(100)))
    api.fail_at = {5} if mode == "page" else {40}
    got: list[int] = []
    with pytest.raises(ServerError):
        async for item in pager(api, mode, page_size=10, prefetch=4):
            got.append(item)
    assert got == list(range(40))
    assert api.in_flight == 0


@pytest.mark.parametrize("mode", ["page", "offset"])
async def test_resume_from_cursor_continues_without_duplicates(mode: PaginationMode) -> None:
    api = FakeAPI(list(range(95)))
    first = pager(api, mode, page_size=10)
    seen: list[int] = []
    async for item in first:
        seen.append(item)
        if item == 33:
            break
    cursor = first.cursor
    rest = await pager(api, mode, page_size=10, resume_from=cursor).collect()  # type: ignore[arg-type]
    assert seen + rest == list(range(95))


def test_cursor_positions() -> None:
    assert Cursor(page=4, skip=3).skip == 3
    with pytest.raises(ConfigurationError):
        Cursor()
    with pytest.raises(ConfigurationError):
        Cursor(page=1, offset=0)
    with pytest.raises(ConfigurationError):
        Cursor(page=0)


async def test_cursor_after_a_full_walk_points_past_the_end() -> None:
    api = FakeAPI(list(range(20)))
    walk = pager(api, page_size=10)
    await walk.collect()
    assert walk.cursor == Cursor(page=3)


async def test_list_growing_during_the_walk_is_followed_to_its_end() -> None:
    api = FakeAPI(list(range(30)))
    walk = pager(api, page_size=10, prefetch=4)
    got = []
    async for item in walk:
        got.append(item)
        if item == 0:
            api.items = list(range(45))
    assert got == list(range(45))


async def test_list_shrinking_during_the_walk_stops_cleanly() -> None:
    api = FakeAPI(list(range(100)), max_latency=0)
    got = []
    async for item in pager(api, page_size=10, prefetch=1):
        got.append(item)
        if item == 0:
            api.items = list(range(25))
    assert got == list(range(25))


@pytest.mark.parametrize(
    "options",
    [{"page_size": 0}, {"page_size": 101}, {"prefetch": 0}],
)
def test_invalid_options_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        pager(FakeAPI([]), **options)


def test_cursor_must_fit_the_mode() -> None:
    with pytest.raises(ConfigurationError, match="does not fit"):
        AsyncPager(FakeAPI([]).fetch, mode="offset", resume_from=Cursor(page=2))


class SlowHeadAPI(FakeAPI):
    """Page 2 answers only when released; every other page answers at once."""

    def __init__(self, items: list[int]) -> None:
        super().__init__(items, max_latency=0)
        self.release_page_2 = asyncio.Event()
        self.requested_while_2_waits: list[int] = []

    async def fetch(self, params: dict[str, int], position: int) -> ResultPage[int]:
        if position == 2:
            await self.release_page_2.wait()
        elif not self.release_page_2.is_set() and position > 2:
            self.requested_while_2_waits.append(position)
        return await super().fetch(params, position)


async def test_a_slow_page_does_not_idle_the_window_and_order_holds() -> None:
    api = SlowHeadAPI(list(range(200)))  # 20 pages of 10
    walk = pager(api, page_size=10, prefetch=3)
    got: list[int] = []

    async def consume() -> None:
        async for item in walk:
            got.append(item)

    consumer = asyncio.create_task(consume())
    for _ in range(50):
        await asyncio.sleep(0)
    # Pages behind the slow page 2 freed their slots: requests went on up to the
    # reorder buffer's bound (2 x prefetch pages ahead), not just the first window.
    assert api.requested_while_2_waits == [3, 4, 5, 6, 7]
    assert got == list(range(10))  # nothing out of order while page 2 waits
    api.release_page_2.set()
    await consumer
    assert got == list(range(200))
    assert len(api.requests) == 20
    assert api.max_in_flight <= 3


async def test_pages_are_read_in_order_only_when_the_consumer_reaches_them() -> None:
    """The window holds fetched answers; each is read into items when its turn comes, so
    items the consumer has not reached yet are not built (and die young once passed)."""
    api = FakeAPI(list(range(100)), max_latency=0)
    read: list[int] = []
    walk = AsyncPager(reading(api.fetch, read), page_size=10, prefetch=4)
    seen: list[int] = []
    async for item in walk:
        seen.append(item)
        if item == 15:
            await asyncio.sleep(0.01)  # the window fills up meanwhile
            assert len(api.requests) > 3 and read == [1, 2]
    assert seen == list(range(100)) and read == list(range(1, 11))
