"""Coalesced and cached reads for web apps, invalidated by ButterCMS webhooks."""

from .backends import CacheBackend, MemoryCache
from .reads import ReadCache
from .redis_backend import RedisCache
from .stats import CacheStats
from .tags import event_tags, read_tags

__all__ = [
    "CacheBackend",
    "CacheStats",
    "MemoryCache",
    "ReadCache",
    "RedisCache",
    "event_tags",
    "read_tags",
]
