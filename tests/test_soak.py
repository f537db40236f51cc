"""Long runs under seeded random transient faults: nothing lost, nothing duplicated."""

from __future__ import annotations

import pytest

from butter_async import RetryPolicy
from butter_async.operations import CreatePage
from butter_async.testing import Emulator, Fault, SeedSpec

pytestmark = pytest.mark.slow
PATIENT = RetryPolicy(max_retries=10, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)


async def test_stream_100k_items_over_1000_pages_with_5_percent_faults() -> None:
    faults = [
        Fault("status", path="posts/", probability=0.02, status=503),
        Fault("html", path="posts/", probability=0.01, status=502),
        Fault("truncate", path="posts/", probability=0.01),
        Fault("reset_before", path="posts/", probability=0.01),
    ]
    async with Emulator(seed=SeedSpec(posts=99_999), faults=faults, fault_seed=7) as emu:
        expected = [
            record.data["slug"] for record in emu.store.visible_posts(preview=False, filters={})
        ]
        async with emu.client(retry=PATIENT) as butter:
            slugs = [post.slug async for post in butter.posts.list(page_size=100)]
    assert len(expected) == 100_000
    assert slugs == expected  # every item, exactly once, in API order
    assert sum(fault.fired for fault in faults) > 30
    assert butter.stats.retries >= sum(fault.fired for fault in faults)


async def test_bulk_20k_creates_with_5_percent_faults() -> None:
    faults = [
        Fault("status", path="pages/", probability=0.015, status=429, retry_after="0"),
        Fault("status", path="pages/", probability=0.015, status=503),
        Fault("reset_after", path="pages/", probability=0.01),
        Fault("html", path="pages/", probability=0.01, status=502),
    ]
    fields = {
        "headline": "s",
        "servings": 1,
        "hero_image": "",
        "ingredients": [],
        "seo": {"title": "s"},
        "sections": [],
    }
    ops = [CreatePage("recipe", f"soak-{i:05d}", f"Soak {i}", fields) for i in range(20_000)]
    async with Emulator(seed=SeedSpec(pages=1), faults=faults, fault_seed=11) as emu:
        async with emu.client(retry=PATIENT) as butter:
            report = await butter.bulk_run(ops, concurrency=64, keep_results=False)
        stored = sorted(slug for slug in emu.store.page_slugs() if slug.startswith("soak-"))
    assert report.ok and report.counts["created"] == 20_000
    assert stored == [op.slug for op in ops]  # store == inputs: none lost, none twice
    assert all(fault.fired > 20 for fault in faults)
