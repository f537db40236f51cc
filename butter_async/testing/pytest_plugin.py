"""pytest plugin (entry point `pytest11`): the `butter_emulator` and `butter_client` fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from ..client import ButterClient
from .emulator import Emulator


@pytest_asyncio.fixture
async def butter_emulator() -> AsyncIterator[Emulator]:
    """A running emulator seeded with the recorded example content, fresh for each test."""
    async with Emulator() as emulator:
        yield emulator


@pytest_asyncio.fixture
async def butter_client(butter_emulator: Emulator) -> AsyncIterator[ButterClient]:
    """A ButterClient with read and write tokens, pointed at `butter_emulator`."""
    async with butter_emulator.client() as client:
        yield client
