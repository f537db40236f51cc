"""The emulator answers the recorded requests with the same key structure as the real API."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from butter_async.testing import Emulator

from .conftest import RECORDED, recorded

OPAQUE = "<user-defined>"


def shape(value: Any, key: str | None = None) -> Any:
    """Keys and nesting of a JSON value; page fields are the user's schema, compared opaquely."""
    if key == "fields" and isinstance(value, dict):
        return OPAQUE
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "leaf"


def comparable(recorded_shape: Any, emulated_shape: Any) -> None:
    """Assert the same keys at every level; an empty list on either side matches any list."""
    if isinstance(recorded_shape, dict):
        assert isinstance(emulated_shape, dict)
        assert set(emulated_shape) == set(recorded_shape)
        for key, value in recorded_shape.items():
            comparable(value, emulated_shape[key])
    elif isinstance(recorded_shape, list):
        assert isinstance(emulated_shape, list)
        if recorded_shape and emulated_shape:
            comparable(recorded_shape[0], emulated_shape[0])
    else:
        assert emulated_shape == recorded_shape


NAMES = sorted(path.stem for path in RECORDED.glob("*.json"))


@pytest.mark.parametrize("name", NAMES)
async def test_emulator_matches_recorded_shape(name: str) -> None:
    exchange = recorded(name)
    source = URL(exchange["uri"])
    async with Emulator() as emu, aiohttp.ClientSession() as session:
        token = "invalid" if name.endswith("invalid_token") else emu.read_token
        target = (
            URL(emu.origin).with_path(source.path).with_query({**source.query, "auth_token": token})
        )
        async with session.get(target) as response:
            status = response.status
            body = await response.json()
    assert status == exchange["status"]
    comparable(shape(exchange["body"]), shape(body))
    if status >= 400:
        assert body == exchange["body"]
