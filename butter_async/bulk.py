"""BulkWriter: many writes with bounded concurrency, one result per input, resumable."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
import weakref
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, TypedDict

import attrs
from aiolimiter import AsyncLimiter
from yarl import URL

from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ButterError,
    ClientClosedError,
    ConfigurationError,
    JournalError,
    PermissionDeniedError,
    RateLimitError,
)
from .journal import DONE_OUTCOMES, JobDescription, Journal
from .operations import DEFAULT_MAX_PAYLOAD_BYTES, Operation, WriteClient
from .pacing import AdaptiveGate
from .retries import RetryPolicy
from .transport import ClientStats, OnRateLimit
from .writes import WriteCall, WriteResult

logger = logging.getLogger("butter_async")
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
    """A snapshot for progress bars: `done` counts inputs settled (failures included),
    `not_sent` those a stopped job will not send (never attempted, or interrupted).
    `in_flight` counts requests on the wire; `waiting`, inputs taken by a worker that
    wait for the pace or a 429's pause before they are sent."""

    done: int
    failed: int
    in_flight: int
    concurrency: int
    elapsed: float
    not_sent: int = 0
    pace: float | None = None
    """Sends per second the writer spaces its requests at, once learned from 429s."""
    waiting: int = 0

    @property
    def rate(self) -> float:
        """Finished operations per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@attrs.define(repr=False)
class BulkReport:
    """Counts, failures and timing of a bulk job; `results` when asked to keep them.

    `total` counts every input taken, `done` those settled (in this run or an earlier
    one), and `throughput` what this run settled a second.
    """

    total: int = 0
    counts: Counter[str] = attrs.field(factory=Counter)
    failures: list[BulkResult] = attrs.field(factory=list)
    results: list[BulkResult] | None = None
    retries: int = 0
    rate_limited: int = 0
    elapsed: float = 0.0
    stopped_by: str | None = None
    connection_limit: int | None = None
    unrecorded: int = 0
    """Writes sent whose outcome the journal could not record (it failed): a resume with
    the same journal checks each against ButterCMS before sending anything again."""

    @property
    def ok(self) -> bool:
        """True when every input is done."""
        return all(self.counts[outcome] == 0 for outcome in _UNFINISHED)

    @property
    def done(self) -> int:
        """Inputs settled: written, found, failed or done by an earlier run; not the ones
        a stopped job never sent or left in flight."""
        return self.total - self.counts["not_attempted"] - self.counts["interrupted"]

    @property
    def throughput(self) -> float:
        """Operations this run settled a second (not those an earlier run did)."""
        settled = self.done - self.counts["skipped"]
        return settled / self.elapsed if self.elapsed > 0 else 0.0

    def __repr__(self) -> str:
        counts = ", ".join(f"{outcome} {n}" for outcome, n in sorted(self.counts.items()))
        shown = ", ".join(failure.key for failure in self.failures[:3])
        more = f" +{len(self.failures) - 3}" if len(self.failures) > 3 else ""
        failures = f", failures [{shown}{more}]" if self.failures else ""
        stopped = f", stopped by {self.stopped_by!r}" if self.stopped_by else ""
        return (
            f"<BulkReport {self.done} of {self.total} done in {self.elapsed:.1f}s "
            f"({counts}){stopped}{failures}>"
        )

    def add_skipped(self) -> None:
        """Account for an input an earlier run did, without a result object."""
        self.count("skipped", 0)

    def count(self, outcome: BulkOutcome, attempts: int) -> None:
        """Count one input's outcome and the retries it took."""
        self.total += 1
        self.counts[outcome] += 1
        if attempts > 1:
            self.retries += attempts - 1

    def add(self, result: BulkResult) -> None:
        """Account for one result."""
        self.count(result.outcome, result.attempts)
        if not result.ok:
            self.failures.append(result)
        if self.results is not None:
            self.results.append(result)


_CHUNK = 64
"""Inputs a sync source is read in at once (one journal look-up for all their keys).
Kept small: inputs read far ahead of their send outlive garbage collections; at 256 the
collector took 10-14 us a write (3,000 creates, C=50), at 64 under 2."""
_SETTLED_GROUP = 64
"""Results that need no request, handed to a stream's consumer together (one queue trip)."""

RATE_LIMITED_ROUNDS = 3
"""Rounds through the gate a refused (429) item gets beyond its client's retries."""

DEFAULT_MAX_RATE_LIMIT_WAIT = 300.0
"""Seconds a job may spend paused by 429s in all before its remaining inputs fail fast."""
DEFAULT_MAX_IDENTICAL_FAILURES = 20
"""Inputs in a row the API refuses with the same error before a job stops: an error every
input meets (a missing field of the schema, say) costs this many requests, not one per
input."""

Operations = Iterable[Operation] | AsyncIterable[Operation]


class BulkClient(WriteClient, Protocol):
    """What the bulk writer needs of a client (`ButterClient` is one; so can a fake be)."""

    @property
    def retry(self) -> RetryPolicy: ...

    @property
    def closed(self) -> bool: ...

    @property
    def base_url(self) -> URL: ...

    @property
    def account_fingerprint(self) -> str: ...

    def require_write_token(self) -> None: ...

    def reserve_connections(self, wanted: int) -> int: ...

    @property
    def stats(self) -> ClientStats: ...

    def on_rate_limited(self, callback: Callable[[float | None], None]) -> Callable[[], None]: ...

    def send(
        self,
        call: WriteCall,
        *,
        check_first: bool = False,
        on_rate_limit: OnRateLimit = "wait",
    ) -> Coroutine[Any, Any, WriteResult]: ...


class BulkOptions(TypedDict, total=False):
    """The keyword options of `BulkWriter`, as `butter.bulk()` and `bulk_run()` take them."""

    concurrency: int
    rate_limit: float | None
    journal: str | os.PathLike[str] | None
    journal_override: bool
    job_id: str | None
    fail_fast: bool
    max_failures: int | None
    progress: Callable[[BulkProgress], None] | None
    progress_interval: float
    adaptive: bool
    max_payload_bytes: int
    max_rate_limit_wait: float | None
    max_identical_failures: int | None


@attrs.frozen
class BulkSettings:
    """How a BulkWriter runs its jobs (see `BulkWriter`)."""

    concurrency: int
    rate_limit: float | None
    journal: str | os.PathLike[str] | None
    journal_override: bool
    job_id: str | None
    max_failures: int | None
    progress: Callable[[BulkProgress], None] | None
    progress_interval: float
    adaptive: bool
    max_payload_bytes: int
    max_rate_limit_wait: float | None
    max_identical_failures: int | None


class BulkWriter:
    """Runs write operations with at most `concurrency` in flight and flat memory.

    Every input gets exactly one `BulkResult`. With `journal=` a killed job can be
    re-run: finished operations are skipped and unfinished creates are checked against
    the API before being sent again, so nothing is created twice. Each `run()` or
    `stream()` is a job of its own; leaving `async with` closes streams left open.
    """

    def __init__(
        self,
        client: BulkClient,
        *,
        concurrency: int = 32,
        rate_limit: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        journal_override: bool = False,
        job_id: str | None = None,
        fail_fast: bool = False,
        max_failures: int | None = None,
        progress: Callable[[BulkProgress], None] | None = None,
        progress_interval: float = 0.1,
        adaptive: bool = True,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_rate_limit_wait: float | None = DEFAULT_MAX_RATE_LIMIT_WAIT,
        max_identical_failures: int | None = DEFAULT_MAX_IDENTICAL_FAILURES,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if rate_limit is not None and rate_limit <= 0:
            raise ConfigurationError("rate_limit must be positive (requests per second)")
        if max_failures is not None and max_failures < 1:
            raise ConfigurationError("max_failures must be at least 1")
        if max_rate_limit_wait is not None and max_rate_limit_wait < 0:
            raise ConfigurationError("max_rate_limit_wait must not be negative (seconds)")
        if max_identical_failures is not None and max_identical_failures < 1:
            raise ConfigurationError("max_identical_failures must be at least 1 (or None)")
        self.client = client
        self.settings = BulkSettings(
            concurrency=concurrency,
            rate_limit=rate_limit,
            journal=journal,
            journal_override=journal_override,
            job_id=job_id,
            max_failures=1 if fail_fast else max_failures,
            progress=progress,
            progress_interval=progress_interval,
            adaptive=adaptive,
            max_payload_bytes=max_payload_bytes,
            max_rate_limit_wait=max_rate_limit_wait,
            max_identical_failures=max_identical_failures,
        )
        self._last_job: BulkJob | None = None
        self._open_streams: weakref.WeakSet[AsyncGenerator[BulkResult, None]] = weakref.WeakSet()

    @property
    def report(self) -> BulkReport:
        """The report of the latest job this writer started."""
        return self._last_job.report if self._last_job is not None else BulkReport()

    async def __aenter__(self) -> BulkWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the streams still open: their tasks stop and their journals are closed."""
        for results in list(self._open_streams):
            await results.aclose()

    def _job(
        self, operations: Operations, report: BulkReport, *, quiet_skips: bool, streamed: bool
    ) -> BulkJob:
        self._last_job = BulkJob(
            self.client,
            self.settings,
            operations,
            report,
            quiet_skips=quiet_skips,
            streamed=streamed,
        )
        return self._last_job

    async def run(self, operations: Operations, *, keep_results: bool = False) -> BulkReport:
        """Run every operation and return the report: counts and every failure.

        Memory stays flat however long the input: a result per input is kept in
        `report.results` only with `keep_results=True` (or use `stream()`), and inputs a
        resumed job had done are only counted.
        """
        report = BulkReport(results=[] if keep_results else None)
        job = self._job(operations, report, quiet_skips=not keep_results, streamed=False)
        await job.run()
        return job.report

    def stream(self, operations: Operations) -> AsyncGenerator[BulkResult, None]:
        """Yield each operation's result as it finishes; `report` keeps the totals."""
        job = self._job(operations, BulkReport(), quiet_skips=False, streamed=True)
        results = job.results()
        self._open_streams.add(results)
        return results


class BulkJob:
    """One run over one input: its ledger, workers, counters, journal and report.

    Workers take inputs from the source themselves, a chunk at a time. Every input taken
    stays in `taken` until its result is accounted for, so a cancelled or failed job can
    still account for each one. A stream hands results to its consumer through `done`;
    `run()` accounts for them as they finish.
    """

    def __init__(
        self,
        client: BulkClient,
        settings: BulkSettings,
        operations: Operations,
        report: BulkReport,
        *,
        quiet_skips: bool = False,
        streamed: bool = False,
    ) -> None:
        self.client = client
        self.settings = settings
        self.report = report
        self.quiet_skips = quiet_skips
        self.streamed = streamed
        self.counts_only = not streamed and report.results is None
        """Whether a write made is only counted: nobody reads its result."""
        stats = client.stats
        self.gate = AdaptiveGate(adaptive=settings.adaptive, accepted=lambda: stats.accepted)
        self.journal = Journal(settings.journal) if settings.journal is not None else None
        self.recheck: set[int] = set()
        self.missing_schemas: dict[tuple[str, str], str] = {}
        self.limiter = AsyncLimiter(settings.rate_limit, 1) if settings.rate_limit else None
        self.limited = 0
        """Sends past the gate waiting for the fixed `rate_limit`."""
        self.ready: deque[tuple[int, WriteCall]] = deque()  # inputs checked, to send
        """Inputs taken and checked, waiting for a worker."""
        self.refilling = asyncio.Lock()
        self.exhausted = False
        self.done: asyncio.Queue[int | list[int] | BaseException | None] = asyncio.Queue(
            settings.concurrency * 2
        )
        self.outcome: BaseException | None = None
        """How the workers ended, when not in a stream: None, or the error to raise."""
        self.stopping = False
        self.taken: dict[int, tuple[Operation, str]] = {}
        """Every input not yet accounted for: the operation and its journal key."""
        self.computed: dict[int, BulkResult] = {}
        self.executing: set[int] = set()
        self.async_source = aiter(operations) if isinstance(operations, AsyncIterable) else None
        self.sync_source = None if isinstance(operations, AsyncIterable) else iter(operations)
        self.count = 0
        self.failures = 0
        self.alike = 0
        """Inputs in a row the API refused with `last_refusal`."""
        self.last_refusal = ""
        self.started = time.monotonic()
        self.retries_before = 0
        self.requeued = 0
        self.last_progress = 0.0
        self.closing = False
        self.rate_limit_error: RateLimitError | None = None
        self.unsubscribe: Callable[[], None] = lambda: None
        """Stops the client telling this job of its 429s (set when the job starts)."""

    async def run(self) -> None:
        """Run the job to its end, accounting for each result as it finishes."""
        coordinator = self.start()
        try:
            await asyncio.wait({coordinator})
            if self.outcome is not None:
                raise self.outcome
            coordinator.result()  # anything else the workers died of
        finally:
            await self.stop(coordinator)

    async def results(self) -> AsyncGenerator[BulkResult, None]:
        """Run the job, yielding each result as the consumer receives it."""
        coordinator = self.start()
        try:
            while (item := await self.done.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                for index in item if isinstance(item, list) else (item,):
                    yield self.account(index)
        finally:
            await self.stop(coordinator)

    def start(self) -> asyncio.Future[None]:
        """Check the token and the pool, open the journal, and start the workers."""
        self.client.require_write_token()  # before a single input is taken
        self.check_connections()
        if self.journal:
            description = JobDescription(
                target=str(self.client.base_url),
                account=self.client.account_fingerprint,
                job_id=self.settings.job_id,
            )
            self.journal.open(description, override=self.settings.journal_override)
        self.started = time.monotonic()
        self.retries_before = self.client.stats.retries
        self.unsubscribe = self.client.on_rate_limited(self.on_rate_limited)
        return asyncio.ensure_future(self.coordinate())

    def account(self, index: int) -> BulkResult:
        """Take a finished input off the ledger into the report."""
        del self.taken[index]
        result = self.computed.pop(index)
        self.report.add(result)
        self.report_progress()
        return result

    def check_connections(self) -> None:
        """Make the pool follow the concurrency, or say (log and report) that it caps it."""
        wanted = self.settings.concurrency
        available = self.client.reserve_connections(wanted)
        if 0 < available < wanted:
            self.report.connection_limit = available
            logger.warning(
                "bulk concurrency %d is capped at %d by the connection pool (a session "
                "made earlier or given to the client); pass connector_limit=%d to ButterClient",
                wanted,
                available,
                wanted,
            )

    async def stop(self, coordinator: asyncio.Future[None]) -> None:
        """Cancel the workers, wait until every one has finished, even if cancelled again,
        and account for every input left."""
        self.closing = True
        coordinator.cancel()
        cancelled_again = False
        while not coordinator.done():
            try:
                await asyncio.wait({coordinator})
            except asyncio.CancelledError:
                cancelled_again = True
        self.unsubscribe()
        self.clean_up()
        if cancelled_again:
            raise asyncio.CancelledError
        if self.journal is not None and self.journal.failed is not None:
            raise self.journal.failed

    async def coordinate(self) -> None:
        """Run the workers, then say how they ended (in a stream, as the last item of `done`)."""
        workers = [asyncio.ensure_future(self.work()) for _ in range(self.settings.concurrency)]
        try:
            await asyncio.gather(*workers)
        except Exception as error:  # a bug, a failing input iterator or progress callback
            await _cancel_all(workers)  # none may go on taking inputs after the job ends
            await self.end(error)
        except asyncio.CancelledError:
            await _cancel_all(workers)
            if self.closing:
                raise
            # Cancelled from inside, not by us: report it rather than leave the consumer
            # waiting for a `done` that never comes.
            await self.end(ClientClosedError("the bulk job's workers were cancelled"))
            raise
        else:
            await self.end(None)

    async def end(self, outcome: BaseException | None) -> None:
        """Record how the workers ended; a stream's consumer reads it from `done`."""
        self.outcome = outcome
        if self.streamed:
            await self.done.put(outcome)

    def halted(self) -> bool:
        """Whether nothing more may be sent: the client closed, auth failed, 429s won."""
        return (
            self.client.closed
            or self.rate_limit_error is not None
            or self.report.stopped_by is not None
        )

    async def refill(self) -> bool:
        """Take inputs until some need sending; False once the source is exhausted.

        One worker reads the source at a time; a sync source is read in chunks, so a
        resumed job looks up a chunk's keys in the journal at once.
        """
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
        """Number and precheck inputs in the order they came; queue those to send."""
        first = self.count
        self.count += len(operations)
        keyed = [(operation, *_key_of(operation)) for operation in operations]
        # Every input is in the ledger before the journal is asked or anything awaited: a
        # failed or cancelled job still accounts for it.
        for index, (operation, key, _) in enumerate(keyed, start=first):
            self.taken[index] = (operation, key)
        previous = self.journal.states_of([key for _, key, _ in keyed]) if self.journal else {}
        settled: list[int] = []
        for index, (operation, key, keyless) in enumerate(keyed, start=first):
            if self.quiet_skips and previous.get(key) in DONE_OUTCOMES:
                # Nobody reads the results: a resumed job's done work is only counted.
                del self.taken[index]
                self.report.add_skipped()
                continue
            checked = self.precheck(index, operation, key, keyless, previous.get(key))
            if isinstance(checked, WriteCall):
                self.ready.append((index, checked))
                continue
            self.finish(checked)
            if not self.streamed:
                self.account(index)
                continue
            settled.append(index)  # handed over in groups: one queue trip per group
            if len(settled) >= _SETTLED_GROUP:
                await self.done.put(settled)
                settled = []
        if settled:
            await self.done.put(settled)

    async def work(self) -> None:
        """Send inputs until the source is exhausted.

        A refused (429) request comes back here rather than being resent by the client,
        so that its next attempt waits for the gate's pace like every other send.
        """
        ready = self.ready
        while ready or await self.refill():
            index, call = ready.popleft()
            operation, key = self.taken[index]
            missing = None
            if self.missing_schemas:
                missing = self.missing_schemas.get(_schema_of(operation) or ("", ""))
            if self.stopping:
                self.finish(_result(index, operation, key, "not_attempted", detail="job stopped"))
            elif missing is not None:
                # The API said the page type or collection does not exist: do not ask again.
                detail = f"not sent: {missing}"
                self.finish(_result(index, operation, key, "failed", detail=detail))
            else:
                check_first = index in self.recheck
                if check_first:
                    self.recheck.discard(index)
                sent = await self.execute(index, operation, key, call, check_first)
                # execute() marks the input executing once its request goes out; a send
                # cancelled in flight stays marked, and is reported interrupted.
                self.executing.discard(index)
                if isinstance(sent, BulkResult):
                    self.finish(sent)
                elif self.counts_only:
                    self.count_write(index, key, sent)
                    continue
                else:
                    self.finish(_written(index, operation, key, sent))
            if self.streamed:
                await self.done.put(index)
            else:
                self.account(index)

    def count_write(self, index: int, key: str, write: WriteResult) -> None:
        """Account for a write made when nobody reads its result: counts and journal only.

        Counted first: a journal that fails to record it must not make it look unsent.
        """
        del self.taken[index]
        self.report.count(write.outcome, write.attempts)
        if self.journal:
            self.journal.finished(key, index, write.outcome, None)
        self.report_progress()

    def finish(self, result: BulkResult) -> None:
        """Record a result in the ledger, then the journal; stop after too many failures,
        or after a run of inputs the API refused alike."""
        self.computed[result.index] = result
        if result.outcome == "failed":
            self.failures += 1
            limit = self.settings.max_failures
            if limit is not None and self.failures >= limit:
                self.stopping = True
            self.note_refusal(result)
        elif result.outcome not in ("skipped", "not_attempted", "interrupted"):
            self.alike = 0
        if self.journal and result.outcome != "skipped":
            self.journal.finished(result.key, result.index, result.outcome, result.detail)

    def note_refusal(self, result: BulkResult) -> None:
        """Count inputs in a row that the API refused with the same error; at
        `max_identical_failures` the job stops, naming the error."""
        error = result.error
        if not isinstance(error, APIError) or not 400 <= error.status < 500:
            return  # not sent (refused here, at no cost), or a server's passing failure
        if isinstance(error, RateLimitError):
            return  # the pace and `max_rate_limit_wait` answer 429s
        refusal = f"{error.status}: {error.detail}"
        self.alike = self.alike + 1 if refusal == self.last_refusal else 1
        self.last_refusal = refusal
        limit = self.settings.max_identical_failures
        if limit is not None and self.alike >= limit and self.report.stopped_by is None:
            self.stopping = True
            self.report.stopped_by = (
                f"{self.alike} inputs in a row refused alike ({refusal[:300]}); the rest "
                "were not sent"
            )

    def clean_up(self) -> None:
        """Account for every input left (done, interrupted or never sent), then record the
        ones left in the journal and close it; a failing journal cannot shorten the report."""
        left: list[BulkResult] = []
        for index, (operation, key) in sorted(self.taken.items()):
            if index in self.computed:
                self.report.add(self.computed[index])
                continue
            if index in self.executing:
                result = _result(index, operation, key, "interrupted", detail="cancelled")
            else:
                result = _result(index, operation, key, "not_attempted", detail="job cancelled")
            self.report.add(result)
            left.append(result)
        if self.sync_source is not None:
            for index, operation in enumerate(self.sync_source, start=self.count):
                key, _ = _key_of(operation)
                unsent = _result(index, operation, key, "not_attempted", detail="job cancelled")
                self.report.add(unsent)
        self.report.retries += self.client.stats.retries - self.retries_before + self.requeued
        self.report.elapsed = time.monotonic() - self.started
        if self.journal:
            self.close_journal(left)
        if self.settings.progress:
            self.settings.progress(self.snapshot())

    def close_journal(self, left: list[BulkResult]) -> None:
        """Record the inputs left and close the journal; if it failed, say so in the
        report and attach the report to its JournalError."""
        assert self.journal is not None
        with contextlib.suppress(JournalError):  # kept as `journal.failed`
            try:
                for result in left:
                    self.journal.finished(result.key, result.index, result.outcome, result.detail)
            finally:
                self.journal.close()
        failure = self.journal.failed
        if failure is not None:
            self.report.unrecorded = self.journal.unrecorded
            if self.report.stopped_by is None:
                self.report.stopped_by = f"journal: {failure}"
            failure.report = self.report

    def precheck(
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
        if self.stopping:
            return _result(index, operation, key, "not_attempted", detail="job stopped")
        if previous in DONE_OUTCOMES:
            detail = f"{previous} in an earlier run"
            return _result(index, operation, key, "skipped", detail=detail)
        try:
            if keyless is not None:
                raise keyless
            call = operation.prepare(self.settings.max_payload_bytes)
        except (ConfigurationError, AttributeError, TypeError, ValueError) as error:
            # InvalidOperationError is the checks' own; the rest are inputs of the wrong type
            detail = f"invalid operation: {error}"
            return _result(index, operation, key, "failed", detail=detail, error=error)
        if previous is not None:
            # Started, interrupted or failed before: it may have been applied, so look first.
            self.recheck.add(index)
        return call

    async def execute(
        self, index: int, operation: Operation, key: str, call: WriteCall, check_first: bool
    ) -> BulkResult | WriteResult:
        """Send an operation's checked write through the gate and the limiter, for as many
        rounds as 429s allow: the write made, or the result of an operation that was not."""
        round_ = 0
        while True:
            if not self.gate.admit() and not await self.gate.acquire(self.halted):
                return self.halted_result(index, operation, key)
            succeeded = False
            try:
                if self.limiter is not None:
                    self.limited += 1
                    try:
                        await self.limiter.acquire()
                    finally:
                        self.limited -= 1
                if self.halted():
                    return self.halted_result(index, operation, key)
                if self.journal and round_ == 0:
                    await self.journal.started(key, index)
                self.executing.add(index)  # from here it may be applied
                write = await self.client.send(call, check_first=check_first, on_rate_limit="raise")
                succeeded = True
                return write
            except RateLimitError as error:
                self.executing.discard(index)  # refused, so not applied: it waits unsent
                if not self.requeue(error, round_):
                    return _failed(index, operation, key, error)
                # Refused, so not applied. A create escapes with a 429 only before any
                # ambiguous attempt (after one it rides 429s out in the call), so the
                # next round sends at once, without a read-back first.
                round_ += 1
                self.requeued += 1
            except JournalError:
                raise  # the job cannot go on without a record of what it sends
            except ClientClosedError as error:
                # The request may have reached the server before the client closed.
                detail = str(error)
                return _result(index, operation, key, "interrupted", detail=detail, error=error)
            except (AuthenticationError, PermissionDeniedError) as error:
                # Every other write would be refused the same way: stop the job.
                if self.report.stopped_by is None:
                    self.report.stopped_by = f"{error.status}: {error.detail}"
                return _failed(index, operation, key, error)
            except BadRequestError as error:
                schema = _schema_of(operation)
                if schema is not None and _names_missing_schema(error, schema):
                    self.missing_schemas[schema] = f"{schema[0]} {schema[1]!r}: {error.detail}"
                return _failed(index, operation, key, error)
            except (ButterError, ValueError, TypeError) as error:
                return _failed(index, operation, key, error)
            finally:
                self.gate.release(succeeded=succeeded)

    def requeue(self, error: RateLimitError, round_: int) -> bool:
        """Whether a refused (429) item goes back through the gate for another round.

        As many rounds as the client's retry policy allows retries, plus
        `RATE_LIMITED_ROUNDS`, unless the quota is spent (a Retry-After beyond its cap)
        or the job's rate-limit budget is.
        """
        spent_quota = self.client.retry.too_long_to_wait(error.retry_after)
        budget_spent = self.rate_limit_error is not None
        rounds = self.client.retry.max_retries + RATE_LIMITED_ROUNDS
        return not spent_quota and not budget_spent and round_ + 1 < rounds

    def halted_result(self, index: int, operation: Operation, key: str) -> BulkResult:
        """The result of an input the job will not send: closed, refused, or 429s won."""
        if self.client.closed:
            return _result(index, operation, key, "not_attempted", detail="client closed")
        if self.report.stopped_by is not None:
            detail = f"job stopped: {self.report.stopped_by}"
            return _result(index, operation, key, "not_attempted", detail=detail)
        error = self.rate_limit_error
        assert error is not None
        return _failed(index, operation, key, error)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """The client met a 429: count it and lower the concurrency."""
        self.report.rate_limited += 1
        if self.client.retry.too_long_to_wait(retry_after):
            return  # a spent quota: the requests fail with RateLimitError, nobody waits days
        self.gate.rate_limited(retry_after)
        budget = self.settings.max_rate_limit_wait
        if budget is not None and self.gate.paused > budget and self.rate_limit_error is None:
            self.rate_limit_error = RateLimitError(
                status=429,
                detail=(
                    f"the job waited out 429s for {self.gate.paused:.0f} s in all, over "
                    f"max_rate_limit_wait={budget:g} s; the remaining inputs were not sent"
                ),
                method="POST",
                url="bulk job",
                retry_after=retry_after,
            )

    def report_progress(self) -> None:
        """Call the progress callback, at most once per `progress_interval`."""
        progress = self.settings.progress
        if progress is None:
            return
        now = time.monotonic()
        if now - self.last_progress >= self.settings.progress_interval:
            self.last_progress = now
            progress(self.snapshot())

    def snapshot(self) -> BulkProgress:
        """Where the job stands, for progress bars."""
        counts = self.report.counts
        not_sent = counts["not_attempted"] + counts["interrupted"]
        return BulkProgress(
            done=self.report.total - not_sent,
            not_sent=not_sent,
            failed=counts["failed"],
            in_flight=self.gate.in_flight - self.gate.waiting - self.limited,
            waiting=self.gate.waiting + self.limited,
            concurrency=self.settings.concurrency,
            pace=self.gate.pace,
            elapsed=time.monotonic() - self.started,
        )


async def _cancel_all(tasks: Sequence[asyncio.Future[None]]) -> None:
    """Cancel tasks and wait until every one has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _schema_of(operation: object) -> tuple[str, str] | None:
    """The page type or collection an operation writes to, when it names one."""
    page_type = getattr(operation, "page_type", None)
    if isinstance(page_type, str) and page_type != "*":
        return ("page type", page_type)
    collection = getattr(operation, "collection", None)
    return ("collection", collection) if isinstance(collection, str) else None


def _names_missing_schema(error: BadRequestError, schema: tuple[str, str]) -> bool:
    """Whether a 400 says the page type or collection itself does not exist."""
    field = "page_type" if schema[0] == "page type" else "key"
    messages = " ".join(error.field_errors.get(field, [])).lower()
    return "not exist" in messages or "not found" in messages or "unknown" in messages


def _failed(index: int, operation: Operation, key: str, error: Exception) -> BulkResult:
    detail = error.detail if isinstance(error, APIError) else str(error)
    return _result(index, operation, key, "failed", attempts=1, detail=detail, error=error)


def _written(index: int, operation: Operation, key: str, write: WriteResult) -> BulkResult:
    return _result(
        index,
        operation,
        key,
        write.outcome,
        attempts=write.attempts,
        confirmed_by_read=write.confirmed_by_read,
    )


def _key_of(operation: object) -> tuple[str, Exception | None]:
    """An operation's journal key, or a stand-in from its repr and why it has none."""
    try:
        return str(operation.key), None  # type: ignore[attr-defined]
    except Exception as error:
        return repr(operation)[:120], error


def _result(
    index: int,
    operation: object,
    key: str,
    outcome: BulkOutcome,
    *,
    attempts: int = 0,
    confirmed_by_read: bool = False,
    detail: str | None = None,
    error: BaseException | None = None,
) -> BulkResult:
    return BulkResult(
        index=index,
        key=key,
        operation=getattr(operation, "name", type(operation).__name__),
        outcome=outcome,
        attempts=attempts,
        confirmed_by_read=confirmed_by_read,
        detail=detail,
        error=error,
    )
