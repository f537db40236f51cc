"""A local emulator of the ButterCMS API for tests, demos and benchmarks."""

from .app import RequestRecord
from .emulator import Emulator, emulator_in_thread
from .faults import Fault, FaultPlan, TokenBucket
from .seed import SeedSpec, seeded_store
from .store import ContentStore, PageType

__all__ = [
    "ContentStore",
    "Emulator",
    "Fault",
    "FaultPlan",
    "PageType",
    "RequestRecord",
    "SeedSpec",
    "TokenBucket",
    "emulator_in_thread",
    "seeded_store",
]
