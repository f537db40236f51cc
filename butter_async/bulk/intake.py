"""A job's intake: inputs taken from the source in order, checked, and queued to send."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator

from ..errors import ConfigurationError
from ..operations import Operation
from ..writes import WriteCall
from .journal import DONE_OUTCOMES
from .ledger import Ledger
from .options import BulkSettings
from .results import BulkResult, key_of, result_of
from .stops import Stops

Operations = Iterable[Operation] | AsyncIterable[Operation]

_CHUNK = 64
"""Inputs a sync source is read in at once (one journal look-up for all their keys).
Kept small: inputs read far ahead of their send outlive garbage collections; at 256 the
collector took 10-14 us a write (3,000 creates, C=50), at 64 under 2."""
_SETTLED_GROUP = 64
"""Results that need no request, handed to a stream's consumer together (one queue trip)."""


class Intake:
    """Takes inputs a chunk at a time, numbers them, puts them in the ledger, and checks
    each: those to send wait in `ready`; the rest (done before, invalid, job stopped) are
    settled at once. One worker reads the source at a time."""

    def __init__(
        self,
        operations: Operations,
        ledger: Ledger,
        settings: BulkSettings,
        stops: Stops,
        finish: Callable[[BulkResult], None],
        hand_over: Callable[[list[int]], Awaitable[None]] | None,
        *,
        quiet_skips: bool,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.stops = stops
        self.finish = finish
        """Settles an input's result (the job's stop rules, then the ledger)."""
        self.hand_over = hand_over
        """Gives a stream's consumer settled inputs; None: account for them at once."""
        self.quiet_skips = quiet_skips
        """Whether nobody reads results: a resumed job's done work is only counted."""
        self.async_source = aiter(operations) if isinstance(operations, AsyncIterable) else None
        self.sync_source = None if isinstance(operations, AsyncIterable) else iter(operations)
        self.ready: deque[tuple[int, WriteCall]] = deque()
        """Inputs taken and checked, waiting for a worker."""
        self.recheck: set[int] = set()
        """Inputs an earlier run started: looked for before they are sent."""
        self.count = 0
        self.exhausted = False
        self.refilling = asyncio.Lock()

    def untaken(self) -> Iterator[tuple[int, Operation]]:
        """What a sync source still holds, numbered (for a stopped job to account for)."""
        if self.sync_source is None:
            return iter(())
        return enumerate(self.sync_source, start=self.count)

    async def refill(self) -> bool:
        """Take inputs until some need sending; False once the source is exhausted."""
        async with self.refilling:
            while not self.ready and not self.exhausted:
                chunk: list[Operation] = []
                failure: Exception | None = None
                try:
                    if self.async_source is not None:
                        chunk.append(await anext(self.async_source))
                    else:
                        assert self.sync_source is not None
                        chunk.extend(itertools.islice(self.sync_source, _CHUNK))
                except StopAsyncIteration:
                    pass
                except Exception as error:  # what it gave before failing is still accounted
                    failure = error
                if chunk:
                    await self.take(chunk)
                if failure is not None:
                    raise failure
                self.exhausted = not chunk
            return bool(self.ready)

    async def take(self, operations: list[Operation]) -> None:
        """Number and check inputs in the order they came; queue those to send."""
        first = self.count
        self.count += len(operations)
        keyed = [(operation, *key_of(operation)) for operation in operations]
        # Every input is in the ledger before the journal is asked or anything awaited: a
        # failed or cancelled job still accounts for it.
        for index, (operation, key, _) in enumerate(keyed, start=first):
            self.ledger.enter(index, operation, key)
        journal = self.ledger.journal
        previous = journal.states_of([key for _, key, _ in keyed]) if journal else {}
        settled: list[int] = []
        for index, (operation, key, keyless) in enumerate(keyed, start=first):
            if self.quiet_skips and previous.get(key) in DONE_OUTCOMES:
                self.ledger.skip_done(index)
                continue
            checked = self.check(index, operation, key, keyless, previous.get(key))
            if isinstance(checked, WriteCall):
                self.ready.append((index, checked))
                continue
            self.finish(checked)
            if self.hand_over is None:
                self.ledger.account(index)
                continue
            settled.append(index)  # handed over in groups: one queue trip per group
            if len(settled) >= _SETTLED_GROUP:
                await self.hand_over(settled)
                settled = []
        if settled and self.hand_over is not None:
            await self.hand_over(settled)

    def check(
        self,
        index: int,
        operation: Operation,
        key: str,
        keyless: Exception | None,
        previous: str | None,
    ) -> BulkResult | WriteCall:
        """The result of an operation that need not be sent, or the write to send.

        `keyless` is why the operation has no key, if it has none; `previous` is what the
        journal holds for its key (None: never seen).
        """
        if self.stops.stopping:
            return result_of(index, operation, key, "not_attempted", detail="job stopped")
        if previous in DONE_OUTCOMES:
            detail = f"{previous} in an earlier run"
            return result_of(index, operation, key, "skipped", detail=detail)
        try:
            if keyless is not None:
                raise keyless
            call = operation.prepare(self.settings.max_payload_bytes)
        except (ConfigurationError, AttributeError, TypeError, ValueError) as error:
            # InvalidOperationError is the checks' own; the rest are inputs of the wrong type
            detail = f"invalid operation: {error}"
            return result_of(index, operation, key, "failed", detail=detail, error=error)
        if previous is not None:
            # Started, interrupted or failed before: it may have been applied, so look first.
            self.recheck.add(index)
        return call
