"""Every injectable fault against every operation family: recovery or a precise error.

The table below is the specification: RECOVERS means the caller sees success and the store
holds exactly what one successful call would have left; an exception class means the call
raises exactly that class (and, for writes, leaves nothing half-done behind).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from butter_async import ButterClient, ClientClosedError, RateLimitError, RetryPolicy, ServerError
from butter_async.operations import CreatePage
from butter_async.testing import Emulator, Fault, SeedSpec

from .conftest import recipe_fields

RECOVERS = "recovers"
FAMILIES = ("get", "stream", "create", "update", "delete", "bulk")
ALL_RECOVER = dict.fromkeys(FAMILIES, RECOVERS)

# fault name -> (fault kind and options, expectation per operation family)
MATRIX: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "429 with Retry-After": ({"kind": "status", "status": 429, "retry_after": "0"}, ALL_RECOVER),
    "429 without Retry-After": ({"kind": "status", "status": 429}, ALL_RECOVER),
    "429 monthly quota": (
        {"kind": "quota"},
        {**dict.fromkeys(FAMILIES, RateLimitError), "bulk": "every item fails"},
    ),
    # A 500 is not transient for reads and updates; a create or delete that got one is
    # ambiguous, so it is resolved by reading back and sending again if needed.
    "500": (
        {"kind": "status", "status": 500},
        {
            "get": ServerError,
            "stream": ServerError,
            "create": RECOVERS,
            "update": ServerError,
            "delete": RECOVERS,
            "bulk": RECOVERS,
        },
    ),
    "502": ({"kind": "status", "status": 502}, ALL_RECOVER),
    "503": ({"kind": "status", "status": 503}, ALL_RECOVER),
    "504": ({"kind": "status", "status": 504}, ALL_RECOVER),
    "HTML error page": ({"kind": "html", "status": 502}, ALL_RECOVER),
    "truncated JSON": ({"kind": "truncate"}, ALL_RECOVER),
    "reset before applying": ({"kind": "reset_before"}, ALL_RECOVER),
    "reset after applying": ({"kind": "reset_after"}, ALL_RECOVER),
    "slow past the timeout": ({"kind": "slow", "seconds": 1.0}, ALL_RECOVER),
    "301 redirect": ({"kind": "redirect"}, ALL_RECOVER),
}

TARGETS = {
    "get": (("GET",), "posts/"),
    "stream": (("GET",), "posts/"),
    "create": (("POST",), "pages/"),
    "update": (("PATCH",), "pages/"),
    "delete": (("DELETE",), "pages/"),
    "bulk": (("POST",), "pages/"),
}


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=SeedSpec(posts=35, pages=2)) as e:
        yield e


def install(emu: Emulator, options: dict[str, Any], family: str) -> None:
    methods, path = TARGETS[family]
    kind = options["kind"]
    if kind == "quota":
        emu.state.quota = emu.state.calls
        return
    if kind == "slow":
        kind = "delay" if methods == ("GET",) else "hang_after"
    extra = {k: v for k, v in options.items() if k != "kind"}
    nth = 3 if family == "bulk" else 1
    emu.faults.add(Fault(kind, path=path, methods=methods, nth=nth, **extra))  # type: ignore[arg-type]


async def run(family: str, butter: ButterClient, emu: Emulator, expected_posts: list[str]) -> Any:
    """Run one operation and check the store holds exactly what one success leaves."""
    operations: dict[str, Callable[[], Awaitable[Any]]] = {
        "get": lambda: butter.posts.get("post-000003"),
        "stream": lambda: butter.posts.list(page_size=10).collect(),
        "create": lambda: butter.pages.create(
            "recipe", "matrix-new", "New", recipe_fields(headline="M0")
        ),
        "update": lambda: butter.pages.update("recipe", "recipe-000000", fields={"servings": 7}),
        "delete": lambda: butter.pages.delete("recipe-000001", page_type="recipe"),
        "bulk": lambda: butter.bulk_run(
            [
                CreatePage("recipe", f"matrix-{i}", f"M {i}", recipe_fields(headline=f"M{i}"))
                for i in range(20)
            ],
            concurrency=4,
        ),
    }
    result = await operations[family]()
    if family == "get":
        assert result.post.slug == "post-000003"
    elif family == "stream":
        assert [post.slug for post in result] == expected_posts
    elif family == "create":
        assert sum(slug == "matrix-new" for slug in emu.store.page_slugs()) == 1
    elif family == "update":
        assert emu.store.page("recipe-000000").fields[None]["servings"] == 7
    elif family == "delete":
        assert "recipe-000001" not in emu.store.page_slugs()
    else:
        if not result.ok:
            return result
        assert sorted(s for s in emu.store.page_slugs() if s.startswith("matrix-")) == sorted(
            f"matrix-{i}" for i in range(20)
        )
    return result


CASES = [(fault, family) for fault in MATRIX for family in FAMILIES]


@pytest.mark.parametrize(("fault", "family"), CASES, ids=[f"{f}-{o}" for f, o in CASES])
async def test_fault_matrix(emu: Emulator, fault: str, family: str) -> None:
    options, expectations = MATRIX[fault]
    expected = expectations[family]
    retry = RetryPolicy(max_retries=3, backoff_base=0.0, backoff_max=0.0, retry_after_cap=60)
    async with emu.client(retry=retry, timeout=0.3) as butter:
        expected_posts = [post.slug for post in await butter.posts.list().collect()]
        install(emu, options, family)
        if expected == RECOVERS:
            await run(family, butter, emu, expected_posts)
        elif expected == "every item fails":
            report = await run(family, butter, emu, expected_posts)
            assert report.counts["failed"] == 20
            assert {failure.detail for failure in report.failures} == {"API Calls limit reached."}
            assert not any(s.startswith("matrix-") for s in emu.store.page_slugs())
        else:
            with pytest.raises(expected) as caught:
                await run(family, butter, emu, expected_posts)
            assert type(caught.value) is expected
            assert "matrix-new" not in emu.store.page_slugs()


def client_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of the client side (the emulator's request handlers share the loop)."""
    return {
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
        and not task.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("family", FAMILIES)
async def test_close_under_pool_pressure(emu: Emulator, family: str) -> None:
    """close() wins within a second: single calls raise ClientClosedError, bulk reports."""
    methods, path = TARGETS[family]
    emu.faults.add(Fault("delay", path=path, methods=methods, seconds=10))
    before = client_tasks()
    butter = emu.client(retry=RetryPolicy(max_retries=0), connector_limit=1, timeout=30)
    calls = [
        asyncio.ensure_future(run(family, butter, emu, []))
        for _ in range(1 if family == "bulk" else 5)  # one connection: the rest wait for it
    ]
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await butter.close()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert time.monotonic() - started < 1.0
    if family == "bulk":
        (report,) = outcomes
        assert report.total == 20
        assert report.counts["interrupted"] + report.counts["not_attempted"] == 20
    else:
        assert all(isinstance(outcome, ClientClosedError) for outcome in outcomes), outcomes
    await asyncio.sleep(0)
    assert client_tasks() <= before


@pytest.mark.parametrize("family", FAMILIES)
async def test_cancel_during_backoff(emu: Emulator, family: str) -> None:
    """Cancelling a call that waits out a 429 ends it at once and leaves no task behind."""
    methods, path = TARGETS[family]
    emu.faults.add(Fault("status", path=path, methods=methods, status=429, retry_after="1"))
    before = client_tasks()
    async with emu.client(retry=RetryPolicy(max_retries=5, retry_after_cap=5)) as butter:
        call = asyncio.ensure_future(run(family, butter, emu, []))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert time.monotonic() - started < 1.0
        assert client_tasks() <= before
