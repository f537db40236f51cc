"""The bulk writer: many writes with bounded concurrency, one result per input, resumable.

`writer` holds BulkWriter; a run is a `job`, whose `intake` takes and checks inputs, whose
`ledger` holds each until its result is in the report (`results`), paced by the gate of
`pacing` (its sends' turns in `turns`) and recorded in the `journal`; `options` defines
every setting once.
"""

from .client import BulkClient
from .intake import Operations
from .options import (
    DEFAULT_MAX_IDENTICAL_FAILURES,
    DEFAULT_MAX_RATE_LIMIT_WAIT,
    BulkOptions,
    BulkSettings,
)
from .results import BulkOutcome, BulkProgress, BulkReport, BulkResult
from .sender import RATE_LIMITED_ROUNDS
from .shared_pace import RedisPace
from .writer import BulkWriter

__all__ = [
    "DEFAULT_MAX_IDENTICAL_FAILURES",
    "DEFAULT_MAX_RATE_LIMIT_WAIT",
    "RATE_LIMITED_ROUNDS",
    "BulkClient",
    "BulkOptions",
    "BulkOutcome",
    "BulkProgress",
    "BulkReport",
    "BulkResult",
    "BulkSettings",
    "BulkWriter",
    "Operations",
    "RedisPace",
]
