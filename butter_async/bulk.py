"""BulkWriter: many writes with bounded concurrency, one result per input, resumable."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from contextlib import aclosing, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Literal

import attrs
from aiolimiter import AsyncLimiter

from .errors import (
    APIError,
    ButterError,
    ClientClosedError,
    ConfigurationError,
    RateLimitError,
)
from .journal import Journal, JournalState
from .operations import DEFAULT_MAX_PAYLOAD_BYTES, InvalidOperationError, Operation

if TYPE_CHECKING:
    from .client import ButterClient

BulkOutcome = Literal[
    "created",
    "updated",
    "deleted",
    "already_existed",
    "skipped",
    "failed",
    "not_attempted",
    "interrupted",
]
_UNFINISHED = frozenset({"failed", "not_attempted", "interrupted"})


@attrs.frozen
class BulkResult:
    """The fate of one input operation.

    `skipped`: done by an earlier run (journal). `not_attempted`: never sent because the
    job stopped (fail_fast, max_failures, cancellation, a closed client). `interrupted`: in
    flight when the job was cancelled or the client closed; it may have been applied, and a
    resumed job will check.
    """

    index: int
    key: str
    operation: str
    outcome: BulkOutcome
    attempts: int = 0
    confirmed_by_read: bool = False
    detail: str | None = None
    error: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the operation is done (now or in an earlier run)."""
        return self.outcome not in _UNFINISHED


@attrs.frozen
class BulkProgress:
    """A snapshot for progress bars."""

    done: int
    failed: int
    in_flight: int
    concurrency: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Finished operations per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@attrs.define
class BulkReport:
    """Counts, failures and timing of a bulk job; `results` when asked to keep them."""

    total: int = 0
    counts: Counter[str] = attrs.field(factory=Counter)
    failures: list[BulkResult] = attrs.field(factory=list)
    results: list[BulkResult] | None = None
    retries: int = 0
    rate_limited: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every input is done."""
        return all(self.counts[outcome] == 0 for outcome in _UNFINISHED)

    @property
    def throughput(self) -> float:
        """Operations finished per second."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    def add(self, result: BulkResult) -> None:
        """Account for one result."""
        self.total += 1
        self.counts[result.outcome] += 1
        self.retries += max(0, result.attempts - 1)
        if not result.ok:
            self.failures.append(result)
        if self.results is not None:
            self.results.append(result)


class AdaptiveConcurrency:
    """A concurrency limit that halves on 429 and creeps back up on success (AIMD)."""

    def __init__(self, maximum: int, *, adaptive: bool = True) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.adaptive = adaptive
        self.in_flight = 0
        self._resume_at = 0.0
        self._last_decrease = 0.0
        self._changed = asyncio.Condition()

    @property
    def current(self) -> int:
        """How many operations may be in flight now."""
        return max(1, int(self.limit))

    async def acquire(self) -> None:
        """Wait for a slot (and for any Retry-After pause to end)."""
        loop = asyncio.get_running_loop()
        async with self._changed:
            while True:
                pause = self._resume_at - loop.time()
                if pause <= 0 and self.in_flight < self.current:
                    break
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), pause if pause > 0 else None)
            self.in_flight += 1

    async def release(self, *, succeeded: bool) -> None:
        """Free a slot; a success raises the limit by about one per window."""
        async with self._changed:
            self.in_flight -= 1
            if succeeded and self.adaptive:
                self.limit = min(self.maximum, self.limit + 1 / self.limit)
            self._changed.notify_all()

    def rate_limited(self, retry_after: float | None) -> None:
        """The server answered 429: back off (at most one halving per Retry-After window)."""
        now = asyncio.get_running_loop().time()
        if retry_after:
            self._resume_at = max(self._resume_at, now + retry_after)
        if self.adaptive and now - self._last_decrease >= max(retry_after or 0.0, 0.05):
            self.limit = max(1.0, self.limit / 2)
            self._last_decrease = now


async def _aiterate(
    operations: Iterable[Operation] | AsyncIterable[Operation],
) -> AsyncGenerator[Operation, None]:
    if isinstance(operations, AsyncIterable):
        async for operation in operations:
            yield operation
    else:
        for operation in operations:
            yield operation


RATE_LIMITED_ROUNDS = 3
"""Rounds through the concurrency gate for an item whose every retry met a 429."""


class BulkWriter:
    """Runs write operations with at most `concurrency` in flight and flat memory.

    Every input gets exactly one `BulkResult`. With `journal=` a killed job can be
    re-run: finished operations are skipped and unfinished creates are checked against
    the API before being sent again, so nothing is created twice.
    """

    def __init__(
        self,
        client: ButterClient,
        *,
        concurrency: int = 32,
        rate_limit: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        fail_fast: bool = False,
        max_failures: int | None = None,
        progress: Callable[[BulkProgress], None] | None = None,
        progress_interval: float = 0.1,
        adaptive: bool = True,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if rate_limit is not None and rate_limit <= 0:
            raise ConfigurationError("rate_limit must be positive (requests per second)")
        if max_failures is not None and max_failures < 1:
            raise ConfigurationError("max_failures must be at least 1")
        self.client = client
        self.concurrency = concurrency
        self.rate_limit = rate_limit
        self.journal_path = journal
        self.fail_fast = fail_fast
        self.max_failures = 1 if fail_fast else max_failures
        self.progress = progress
        self.progress_interval = progress_interval
        self.adaptive = adaptive
        self.max_payload_bytes = max_payload_bytes
        self.report = BulkReport()
        self._gate = AdaptiveConcurrency(concurrency, adaptive=adaptive)

    async def __aenter__(self) -> BulkWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    async def run(
        self,
        operations: Iterable[Operation] | AsyncIterable[Operation],
        *,
        keep_results: bool = True,
    ) -> BulkReport:
        """Run every operation and return the report (with `results` if `keep_results`)."""
        self.report = BulkReport(results=[] if keep_results else None)
        async with aclosing(self._stream(operations)) as results:
            async for _ in results:
                pass
        return self.report

    async def stream(
        self, operations: Iterable[Operation] | AsyncIterable[Operation]
    ) -> AsyncGenerator[BulkResult, None]:
        """Yield each operation's result as it finishes; `report` keeps the totals."""
        self.report = BulkReport()
        async with aclosing(self._stream(operations)) as results:
            async for result in results:
                yield result

    async def _stream(
        self, operations: Iterable[Operation] | AsyncIterable[Operation]
    ) -> AsyncGenerator[BulkResult, None]:
        journal = Journal(self.journal_path) if self.journal_path is not None else None
        state = journal.load() if journal else JournalState({}, frozenset())
        if journal:
            journal.open()
        limiter = AsyncLimiter(self.rate_limit, 1) if self.rate_limit else None
        work: asyncio.Queue[int | None] = asyncio.Queue(self.concurrency * 2)
        done: asyncio.Queue[int | BaseException | None] = asyncio.Queue(self.concurrency * 2)
        stopping = asyncio.Event()
        # The ledger: every input taken from the source until the consumer has its result.
        taken: dict[int, Operation] = {}
        computed: dict[int, BulkResult] = {}
        executing: set[int] = set()
        sync_source = None if isinstance(operations, AsyncIterable) else iter(operations)
        source = _aiterate(sync_source if sync_source is not None else operations)
        count = 0
        failures = 0
        started = time.monotonic()
        retries_before = self.client.stats.retries
        last_progress = 0.0
        listeners = self.client._transport.rate_limit_listeners
        listeners.append(self._on_rate_limited)

        def finish(result: BulkResult) -> BulkResult:
            nonlocal failures
            if journal and result.outcome != "skipped":
                journal.finished(result.key, result.index, result.outcome, result.detail)
            if result.outcome == "failed":
                failures += 1
                if self.max_failures is not None and failures >= self.max_failures:
                    stopping.set()
            computed[result.index] = result
            return result

        async def produce() -> None:
            nonlocal count
            async for operation in source:
                index = count
                count += 1
                taken[index] = operation
                early = self._precheck(index, operation, state, stopping.is_set())
                if early is not None:
                    finish(early)
                    await done.put(index)
                else:
                    await work.put(index)
            for _ in range(self.concurrency):
                await work.put(None)

        async def consume_work() -> None:
            while (index := await work.get()) is not None:
                operation = taken[index]
                if stopping.is_set():
                    finish(_result(index, operation, "not_attempted", detail="job stopped"))
                else:
                    executing.add(index)
                    check_first = operation.key in state.unfinished
                    result = await self._execute(index, operation, check_first, journal, limiter)
                    executing.discard(index)
                    finish(result)
                await done.put(index)

        async def coordinate() -> None:
            try:
                await asyncio.gather(produce(), *(consume_work() for _ in range(self.concurrency)))
            except Exception as error:  # a bug or a failing input iterator: surface it
                await done.put(error)
            else:
                await done.put(None)

        coordinator = asyncio.ensure_future(coordinate())
        try:
            while (item := await done.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                taken.pop(item)
                result = computed.pop(item)
                self.report.add(result)
                now = time.monotonic()
                if self.progress and now - last_progress >= self.progress_interval:
                    last_progress = now
                    self.progress(self._snapshot(started))
                yield result
        finally:
            coordinator.cancel()
            await asyncio.gather(coordinator, return_exceptions=True)
            listeners.remove(self._on_rate_limited)
            for index, operation in sorted(taken.items()):
                if index in computed:
                    self.report.add(computed[index])
                elif index in executing:
                    interrupted = _result(index, operation, "interrupted", detail="cancelled")
                    self.report.add(finish(interrupted))
                else:
                    unsent = _result(index, operation, "not_attempted", detail="job cancelled")
                    self.report.add(finish(unsent))
            if sync_source is not None:
                for index, operation in enumerate(sync_source, start=count):
                    unsent = _result(index, operation, "not_attempted", detail="job cancelled")
                    self.report.add(unsent)
            self.report.retries += self.client.stats.retries - retries_before
            self.report.elapsed = time.monotonic() - started
            if journal:
                journal.close()
            if self.progress:
                self.progress(self._snapshot(started))

    def _precheck(
        self, index: int, operation: Operation, state: JournalState, stopping: bool
    ) -> BulkResult | None:
        """The result of an operation that need not be sent, or None to send it."""
        if stopping:
            return _result(index, operation, "not_attempted", detail="job stopped")
        try:
            key = operation.key
            operation.validate(self.max_payload_bytes)
        except (InvalidOperationError, AttributeError, TypeError) as error:
            detail = f"invalid operation: {error}"
            return _result(index, operation, "failed", detail=detail, error=error)
        previous = state.done.get(key)
        if previous is not None:
            return _result(index, operation, "skipped", detail=f"{previous} in an earlier run")
        return None

    async def _execute(
        self,
        index: int,
        operation: Operation,
        check_first: bool,
        journal: Journal | None,
        limiter: AsyncLimiter | None,
    ) -> BulkResult:
        round_ = 0
        while True:
            await self._gate.acquire()
            succeeded = False
            try:
                if limiter is not None:
                    await limiter.acquire()
                if self.client._transport.closed:
                    return _result(index, operation, "not_attempted", detail="client closed")
                if journal and round_ == 0:
                    journal.started(operation.key, index)
                write = await operation.execute(self.client, check_first=check_first)
                succeeded = True
                return _result(
                    index,
                    operation,
                    write.outcome,
                    attempts=write.attempts,
                    confirmed_by_read=write.confirmed_by_read,
                )
            except RateLimitError as error:
                if not self._requeue(error, round_):
                    return _failed(index, operation, error)
                # Refused, so not applied; an earlier ambiguous attempt may have been.
                check_first = True
                round_ += 1
            except ClientClosedError as error:
                # The request may have reached the server before the client closed.
                return _result(index, operation, "interrupted", detail=str(error), error=error)
            except (ButterError, ValueError, TypeError) as error:
                return _failed(index, operation, error)
            finally:
                await self._gate.release(succeeded=succeeded)

    def _requeue(self, error: RateLimitError, round_: int) -> bool:
        """Whether an item whose retries all met 429s goes back through the gate.

        Every in-flight request retries 429s on its own, so under a tight limit one item
        can lose every race; a new round waits for a slot of the lowered concurrency.
        """
        spent_quota = self.client._transport.retry.too_long_to_wait(error.retry_after)
        return not spent_quota and round_ + 1 < RATE_LIMITED_ROUNDS

    def _on_rate_limited(self, retry_after: float | None) -> None:
        self.report.rate_limited += 1
        if self.client._transport.retry.too_long_to_wait(retry_after):
            return  # a spent quota: the requests fail with RateLimitError, nobody waits days
        self._gate.rate_limited(retry_after)

    def _snapshot(self, started: float) -> BulkProgress:
        return BulkProgress(
            done=self.report.total,
            failed=self.report.counts["failed"],
            in_flight=self._gate.in_flight,
            concurrency=self._gate.current,
            elapsed=time.monotonic() - started,
        )


def _failed(index: int, operation: Operation, error: Exception) -> BulkResult:
    detail = error.detail if isinstance(error, APIError) else str(error)
    return _result(index, operation, "failed", attempts=1, detail=detail, error=error)


def _safe_key(operation: object) -> str:
    try:
        return str(operation.key)  # type: ignore[attr-defined]
    except Exception:
        return repr(operation)[:120]


def _result(
    index: int,
    operation: object,
    outcome: BulkOutcome,
    *,
    attempts: int = 0,
    confirmed_by_read: bool = False,
    detail: str | None = None,
    error: BaseException | None = None,
) -> BulkResult:
    return BulkResult(
        index=index,
        key=_safe_key(operation),
        operation=getattr(operation, "name", type(operation).__name__),
        outcome=outcome,
        attempts=attempts,
        confirmed_by_read=confirmed_by_read,
        detail=detail,
        error=error,
    )
