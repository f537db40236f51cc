"""Connections to Redis, shared by the Redis cache and the shared bulk pace (redis-py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
from yarl import URL

from .errors import ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis


def redacted_url(url: str) -> str:
    """The Redis URL with its password masked, in the user part or the `password=` query
    parameter redis-py also reads (the user name stays: it names the ACL user)."""
    parsed = URL(url)
    if parsed.password:
        parsed = parsed.with_password("REDACTED")
    if "password" in parsed.query:
        parsed = parsed.update_query(password="REDACTED")
    return repr(str(parsed))


def check_redis_url(_instance: object, _attribute: attrs.Attribute[str], url: str) -> None:
    """An attrs validator: refuse a URL that is not a Redis one."""
    if URL(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError("the Redis URL must start with redis://, rediss:// or unix://")


def redis_client(
    url: str, *, socket_timeout: float | None, connect_timeout: float, max_connections: int
) -> Redis:
    """A redis-py client whose callers wait for a free connection rather than fail."""
    try:
        from redis.asyncio import BlockingConnectionPool, Redis
    except ImportError:
        raise ConfigurationError(
            "Redis needs redis-py: pip install 'butter-async[redis]'"
        ) from None
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=connect_timeout,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        client_name="butter-async",
    )
    client: Redis = Redis.from_pool(pool)
    return client
