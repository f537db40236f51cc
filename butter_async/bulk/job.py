"""One bulk job: workers that take inputs, pace them through the gate and send them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence

from ..errors import ClientClosedError
from .client import BulkClient
from .intake import Intake, Operations
from .journal import JobDescription, Journal
from .ledger import Ledger
from .options import BulkSettings
from .results import BulkProgress, BulkReport, BulkResult, result_of, written_result
from .sender import Sender
from .stops import Stops

logger = logging.getLogger("butter_async")


class BulkJob:
    """One run over one input: its workers, gate, ledger, intake and report.

    Workers take inputs through the intake and send them through the gate; the ledger
    holds each input until its result is accounted for. A stream hands results to its
    consumer through `done`; `run()` accounts for them as they finish.
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
        self.streamed = streamed
        self.counts_only = not streamed and report.results is None
        """Whether a write made is only counted: nobody reads its result."""
        journal = Journal(settings.journal) if settings.journal is not None else None
        self.ledger = Ledger(report, journal, self.report_progress)
        self.stops = Stops(settings, report)
        self.done: asyncio.Queue[int | list[int] | BaseException | None] = asyncio.Queue(
            settings.concurrency * 2
        )
        hand_over = self.done.put if streamed else None
        self.intake = Intake(
            operations, self.ledger, settings, self.stops, self.finish, hand_over,
            quiet_skips=quiet_skips,
        )  # fmt: skip
        self.sender = Sender(client, settings, self.ledger)
        self.outcome: BaseException | None = None
        """How the workers ended, when not in a stream: None, or the error to raise."""
        self.started = time.monotonic()
        self.retries_before = 0
        self.last_progress = 0.0
        self.closing = False
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
                    yield self.ledger.account(index)
        finally:
            await self.stop(coordinator)

    def start(self) -> asyncio.Future[None]:
        """Check the token and the pool, open the journal, and start the workers."""
        self.client.require_write_token()  # before a single input is taken
        self.check_connections()
        if self.ledger.journal:
            description = JobDescription(
                target=str(self.client.base_url),
                account=self.client.account_fingerprint,
                job_id=self.settings.job_id,
            )
            self.ledger.journal.open(description, override=self.settings.journal_override)
        self.started = time.monotonic()
        self.retries_before = self.client.stats.retries
        self.unsubscribe = self.client.on_rate_limited(self.sender.on_rate_limited)
        return asyncio.ensure_future(self.coordinate())

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
        self.report.retries += (
            self.client.stats.retries - self.retries_before + self.sender.requeued
        )
        self.report.elapsed = time.monotonic() - self.started
        self.ledger.close(self.intake.untaken())
        if self.settings.progress:
            self.settings.progress(self.snapshot())
        try:
            await self.sender.close()  # after the accounting: it awaits Redis
        except asyncio.CancelledError:
            cancelled_again = True
        if cancelled_again:
            raise asyncio.CancelledError
        journal = self.ledger.journal
        if journal is not None and journal.failed is not None:
            raise journal.failed

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

    def finish(self, result: BulkResult) -> None:
        """Settle a result: the stop rules count it, the ledger holds it."""
        self.stops.note(result)
        self.ledger.settle(result)

    async def work(self) -> None:
        """Send inputs until the source is exhausted.

        A refused (429) request comes back here rather than being resent by the client,
        so that its next attempt waits for the gate's pace like every other send.
        """
        intake, ledger, sender, stops = self.intake, self.ledger, self.sender, self.stops
        ready, recheck = intake.ready, intake.recheck
        while ready or await intake.refill():
            index, call = ready.popleft()
            operation, key = ledger.taken[index]
            missing = sender.missing_schemas and sender.missing_schema(operation)
            if stops.stopping:
                self.finish(result_of(index, operation, key, "not_attempted", detail="job stopped"))
            elif missing:
                # The API said the page type or collection does not exist: do not ask again.
                detail = f"not sent: {missing}"
                self.finish(result_of(index, operation, key, "failed", detail=detail))
            else:
                check_first = index in recheck
                if check_first:
                    recheck.discard(index)
                sent = await sender.send(index, operation, key, call, check_first)
                # send() marks the input executing once its request goes out; a send
                # cancelled in flight stays marked, and is reported interrupted.
                ledger.executing.discard(index)
                if isinstance(sent, BulkResult):
                    self.finish(sent)
                elif self.counts_only:
                    ledger.count_write(index, key, sent)
                    continue
                else:
                    self.finish(written_result(index, operation, key, sent))
            if self.streamed:
                await self.done.put(index)
            else:
                ledger.account(index)

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
        gate, limited = self.sender.gate, self.sender.limited
        return BulkProgress(
            done=self.report.total - not_sent,
            not_sent=not_sent,
            failed=counts["failed"],
            in_flight=gate.in_flight - gate.waiting - limited,
            waiting=gate.waiting + limited,
            concurrency=self.settings.concurrency,
            pace=gate.pace,
            elapsed=time.monotonic() - self.started,
        )


async def _cancel_all(tasks: Sequence[asyncio.Future[None]]) -> None:
    """Cancel tasks and wait until every one has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
