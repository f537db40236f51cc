"""Coalesced and cached reads for web apps, invalidated by ButterCMS webhooks.

The backends (`MemoryCache`, `RedisCache` and redis-py behind it) load on first use.
"""

import importlib
from typing import TYPE_CHECKING

from .reads import ReadCache
from .stats import CacheStats
from .tags import event_tags, read_tags

if TYPE_CHECKING:
    from .backends import CacheBackend, MemoryCache
    from .redis_backend import RedisCache

_LAZY = {"CacheBackend": ".backends", "MemoryCache": ".backends", "RedisCache": ".redis_backend"}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


__all__ = [
    "CacheBackend",
    "CacheStats",
    "MemoryCache",
    "ReadCache",
    "RedisCache",
    "event_tags",
    "read_tags",
]
