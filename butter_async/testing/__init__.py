"""A local emulator of the ButterCMS API for tests, demos and benchmarks."""

from .emulator import DEFAULT_READ_TOKEN, DEFAULT_WRITE_TOKEN, Emulator, emulator_in_thread
from .faults import Fault, FaultPlan, SlidingWindow, TokenBucket, jittered
from .redis_server import RedisServer
from .seed import SeedSpec, seeded_store
from .state import RequestRecord
from .store import CollectionSchema, ContentStore, FieldKind, PageType
from .webhook_sender import Delivery, WebhookTarget

__all__ = [
    "DEFAULT_READ_TOKEN",
    "DEFAULT_WRITE_TOKEN",
    "CollectionSchema",
    "ContentStore",
    "Delivery",
    "Emulator",
    "Fault",
    "FaultPlan",
    "FieldKind",
    "PageType",
    "RedisServer",
    "RequestRecord",
    "SeedSpec",
    "SlidingWindow",
    "TokenBucket",
    "WebhookTarget",
    "emulator_in_thread",
    "jittered",
    "seeded_store",
]
