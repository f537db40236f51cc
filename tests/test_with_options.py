"""Per-call settings with with_options(): same session and stats, other timeout/retries."""

from __future__ import annotations

import pytest

from butter_async import ClientClosedError, ConfigurationError, RequestTimeoutError
from butter_async.testing import Emulator, Fault, SeedSpec


async def test_a_shorter_timeout_for_one_call_shares_session_and_stats() -> None:
    async with Emulator(seed=SeedSpec(posts=20)) as emu:
        emu.faults.add(Fault("delay", path="tags/", nth=1, seconds=1.0))
        async with emu.client(timeout=10) as butter:
            quick = butter.with_options(timeout=0.1, max_retries=0)
            with pytest.raises(RequestTimeoutError, match=r"after 0\.1s"):
                await quick.tags.list()
            assert len(await quick.posts.list().collect()) == 21
            assert butter.stats.requests == 2  # one shared ledger
            assert quick.transport.session is butter.transport.session
            await quick.close()  # borrowed session: closing the view closes nothing
            assert len(await butter.tags.list()) == 9
        with pytest.raises(ClientClosedError):
            await quick.tags.list()


async def test_preview_and_prefetch_per_view() -> None:
    async with Emulator(seed=SeedSpec(posts=30, drafts_every=3)) as emu, emu.client() as butter:
        assert len(await butter.posts.list().collect()) == 21
        drafts_too = butter.with_options(preview=True, prefetch=1)
        assert len(await drafts_too.posts.list(page_size=5).collect()) == 31
        assert "preview=1" in emu.requests[-1].query
        assert len(await butter.posts.list().collect()) == 21  # the original is unchanged


def test_invalid_options_are_refused() -> None:
    from butter_async import ButterClient

    with pytest.raises(ConfigurationError):
        ButterClient("t").with_options(timeout=0)
