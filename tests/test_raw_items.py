"""`raw=True` on post lists: the API's dicts, unstructured, still validated as objects."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from butter_async import ButterClient, InvalidItem, ResponseValidationError
from butter_async.testing import Emulator

BASE = "https://api.buttercms.com/v2/"


async def test_raw_posts_are_the_api_dicts_in_order(butter_emulator: Emulator) -> None:
    async with ButterClient(butter_emulator.read_token, base_url=butter_emulator.url) as butter:
        typed = [post async for post in butter.posts.list(page_size=2)]
        raw = [post async for post in butter.posts.list(page_size=2, raw=True)]
        found = [post async for post in butter.posts.search("example", raw=True)]
    assert [post["slug"] for post in raw] == [post.slug for post in typed]
    assert all(isinstance(post, dict) for post in raw)
    assert raw[0]["author"]["slug"] == typed[0].author.slug  # type: ignore[union-attr]
    assert found and all(isinstance(post, dict) for post in found)


async def test_a_raw_item_that_is_not_an_object_is_named_or_skipped() -> None:
    body = {"meta": {"count": 2, "next_page": None}, "data": [{"slug": "ok"}, "oops"]}
    skipped: list[InvalidItem] = []
    with aioresponses() as mocked:
        mocked.get(
            f"{BASE}posts/?auth_token=read-token-123&page=1&page_size=100",
            payload=body,
            repeat=True,
        )
        async with ButterClient("read-token-123") as butter:
            with pytest.raises(ResponseValidationError, match=r"data\[1\]"):
                await butter.posts.list(raw=True).collect()
            kept = await butter.posts.list(raw=True, on_invalid_item=skipped.append).collect()
    assert kept == [{"slug": "ok"}]
    assert [item.raw for item in skipped] == ["oops"]
