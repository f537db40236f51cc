"""pytest plugin (entry point `pytest11`): the `butter_emulator` and `butter_client` fixtures.

It imports nothing optional when pytest loads it: without pytest-asyncio (the `testing`
extra) the fixtures fail with a message saying so, and every other test runs as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ..client import ButterClient
from .emulator import Emulator

MISSING = (
    "the butter_emulator and butter_client fixtures need pytest-asyncio: "
    "pip install 'butter-async[testing]'"
)

try:
    import pytest_asyncio
except ImportError:  # the plugin still loads; only these fixtures are unavailable
    pytest_asyncio = None  # type: ignore[assignment]


async def _emulator() -> AsyncIterator[Emulator]:
    """A running emulator seeded with the recorded example content, fresh for each test."""
    async with Emulator() as emulator:
        yield emulator


async def _client(butter_emulator: Emulator) -> AsyncIterator[ButterClient]:
    """A ButterClient with read and write tokens, pointed at `butter_emulator`."""
    async with butter_emulator.client() as client:
        yield client


if pytest_asyncio is not None:
    # pytest_asyncio.fixture works under both its strict (default) and auto modes.
    butter_emulator = pytest_asyncio.fixture(_emulator, name="butter_emulator")
    butter_client = pytest_asyncio.fixture(_client, name="butter_client")
else:

    @pytest.fixture(name="butter_emulator")
    def _missing_emulator() -> Any:
        """Unavailable: pytest-asyncio is not installed."""
        pytest.fail(MISSING, pytrace=False)

    @pytest.fixture(name="butter_client")
    def _missing_client() -> Any:
        """Unavailable: pytest-asyncio is not installed."""
        pytest.fail(MISSING, pytrace=False)
