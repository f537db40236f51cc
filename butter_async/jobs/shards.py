"""An import split into shards by a stable hash of each operation's key."""

from __future__ import annotations

import hashlib

import attrs

from ..errors import ConfigurationError


def shard_number(key: str, count: int) -> int:
    """The shard (1 to `count`) an operation key falls in: the same on every machine and
    every run, unlike Python's `hash()`."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@attrs.frozen
class Shard:
    """Shard `number` of `count`: the operations whose key hashes to it."""

    number: int
    count: int

    def __attrs_post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.number <= self.count:
            raise ConfigurationError(
                f"a shard is 1 to its count of at least 1, not {self.number} of {self.count}"
            )

    @property
    def name(self) -> str:
        """`shard-2-of-4`: names its journal and failed-lines file."""
        return f"shard-{self.number}-of-{self.count}"

    def holds(self, key: str) -> bool:
        """Whether the operation with this key is this shard's to write."""
        return shard_number(key, self.count) == self.number

    @classmethod
    def every(cls, count: int) -> list[Shard]:
        """Every shard of an import split `count` ways."""
        if count < 1:
            raise ConfigurationError(f"an import splits into 1 shard or more, not {count}")
        return [cls(number, count) for number in range(1, count + 1)]
