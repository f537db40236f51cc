"""A walk over a list that an editor changes under it: every item there before and after
is yielded, none twice, with and without prefetch, for posts, pages and collections."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from butter_async.pagination import AsyncPager
from butter_async.testing import Emulator, Fault, SeedSpec, emulator_in_thread
from butter_async.testing.store import PostRecord

from .test_cli import cli

PAGE_SIZE = 10
SEEDS = range(12)


def identities(emu: Emulator, family: str) -> set[Any]:
    store = emu.store
    if family == "posts":
        return {slug for slug, record in store.posts.items() if record.status == "published"}
    if family == "pages":
        return {r.slug for r in store.pages.values() if r.page_type == "recipe"}
    return set(store.items["products"])


def walk_of(emu: Emulator, family: str) -> str:
    return {"posts": "posts/", "pages": "pages/recipe/", "items": "content/products/"}[family]


def delete_one(emu: Emulator, family: str, rng: random.Random) -> Callable[[], object]:
    """An editor deleting one of the first 30 items of the list, which a walk has
    probably yielded already."""

    def delete() -> object:
        store = emu.store
        if family == "posts":
            ordered = sorted(store.posts.values(), key=lambda r: r.data["published"], reverse=True)
            return store.delete_post(ordered[rng.randrange(0, 30)].data["slug"])
        if family == "pages":
            pages = [r for r in store.pages.values() if r.page_type == "recipe"]
            return store.delete_page(pages[rng.randrange(0, 30)])
        return store.delete_item("products", list(store.items["products"])[rng.randrange(0, 30)])

    return delete


def publish_one(emu: Emulator, n: int) -> Callable[[], object]:
    """An editor publishing a new post, which lists first and shifts every other one."""

    def publish() -> object:
        template = next(iter(emu.store.posts.values()))
        data = {**template.data, "slug": f"fresh-{n}", "published": "2099-01-01T00:00:00Z"}
        return emu.store.add_post(PostRecord(data=data, status="published"))

    return publish


async def walk(emu: Emulator, family: str, prefetch: int) -> tuple[list[Any], AsyncPager[Any]]:
    async with emu.client() as butter:
        pager: AsyncPager[Any]
        if family == "posts":
            pager = butter.posts.list(page_size=PAGE_SIZE, prefetch=prefetch)
            return [post.slug async for post in pager], pager
        if family == "pages":
            pager = butter.pages.list("recipe", page_size=PAGE_SIZE, prefetch=prefetch)
            return [page.slug async for page in pager], pager
        pager = butter.collections.list("products", page_size=PAGE_SIZE, prefetch=prefetch)
        return [item.id async for item in pager], pager


@pytest.mark.parametrize("prefetch", [1, 32])
@pytest.mark.parametrize("family", ["posts", "pages", "items"])
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_delete_during_a_walk_never_hides_an_item_that_stayed(
    family: str, prefetch: int, seed: int
) -> None:
    rng = random.Random(f"{family}{prefetch}{seed}")
    # 41 pages of 10: longer than the default prefetch window (32 pages)
    spec = SeedSpec(posts=410, pages=410, collection_items=410)
    async with Emulator(seed=spec) as emu:
        before = identities(emu, family)
        for _ in range(2):  # two editors, at two moments of the walk
            change = delete_one(emu, family, rng)
            at = rng.randrange(2, 40)
            emu.faults.add(
                Fault("change", path=walk_of(emu, family), methods=("GET",), nth=at, action=change)
            )
        got, pager = await walk(emu, family, prefetch)
        after = identities(emu, family)
    counts = Counter(got)
    assert [key for key, n in counts.items() if n > 1] == []  # none twice
    assert (before & after) - set(got) == set()  # none that stayed is missed
    assert set(got) <= before | after
    assert pager.shifts >= 1


@pytest.mark.parametrize("prefetch", [1, 32])
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_post_published_during_a_walk_never_doubles_one(prefetch: int, seed: int) -> None:
    rng = random.Random(seed)
    async with Emulator(seed=SeedSpec(posts=410)) as emu:
        before = identities(emu, "posts")
        for n in range(2):
            emu.faults.add(Fault("change", path="posts/", methods=("GET",),
                                 nth=rng.randrange(2, 40), action=publish_one(emu, n)))  # fmt: skip
        got, pager = await walk(emu, "posts", prefetch)
    assert [key for key, n in Counter(got).items() if n > 1] == []
    assert before - set(got) == set()
    assert pager.shifts >= 1


async def test_a_walk_over_an_unchanging_list_corrects_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Emulator(seed=SeedSpec(posts=410)) as emu:
        with caplog.at_level(logging.INFO, logger="butter_async.pagination"):
            got, pager = await walk(emu, "posts", 32)
            assert len(got) == len(set(got)) == len(identities(emu, "posts"))
            assert pager.shifts == 0
            gets = sum(1 for r in emu.requests if r.path == "posts/")
            assert gets == -(-len(got) // PAGE_SIZE)  # no page read twice
    assert not caplog.records


async def test_a_correction_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    async with Emulator(seed=SeedSpec(posts=100)) as emu:
        emu.faults.add(Fault("change", path="posts/", methods=("GET",), nth=3,
                             action=lambda: emu.store.delete_post("post-000098")))  # fmt: skip
        with caplog.at_level(logging.INFO, logger="butter_async.pagination"):
            _, pager = await walk(emu, "posts", 1)
    assert pager.shifts == 1
    assert any("the list moved during the walk" in r.getMessage() for r in caplog.records)


def test_export_under_changes_writes_every_surviving_item_once_and_says_so(
    tmp_path: Path,
) -> None:
    output = tmp_path / "posts.jsonl"
    with emulator_in_thread(seed=SeedSpec(posts=3000)) as emu:
        before = identities(emu, "posts")
        emu.faults.add(Fault("change", path="posts/", methods=("GET",), nth=4,
                             action=lambda: emu.store.delete_post("post-002990")))  # fmt: skip
        for n, nth in enumerate((6, 9)):  # and two new posts: 3,001 at the end
            emu.faults.add(Fault("change", path="posts/", methods=("GET",), nth=nth,
                                 action=publish_one(emu, n)))  # fmt: skip
        result = cli(emu, "export", "posts", "-o", str(output))
        after = identities(emu, "posts")
    assert result.exit_code == 0, result.output
    slugs = [orjson.loads(line)["slug"] for line in output.read_bytes().splitlines()]
    assert len(slugs) == len(set(slugs))
    assert (before & after) - set(slugs) == set()
    assert "corrected" in result.output and "shift(s)" in result.output
    assert "the account changed during the export" in result.output
    assert "(+1)" in result.output
