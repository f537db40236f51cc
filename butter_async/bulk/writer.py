"""BulkWriter: many writes with bounded concurrency, one result per input, resumable."""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator
from types import TracebackType

from typing_extensions import Unpack

from .client import BulkClient
from .intake import Operations
from .job import BulkJob
from .options import BulkOptions, BulkSettings
from .results import BulkReport, BulkResult


class BulkWriter:
    """Runs write operations with at most `concurrency` in flight and flat memory.

    Every input gets exactly one `BulkResult`. With `journal=` a killed job can be
    re-run: finished operations are skipped and unfinished creates are checked against
    the API before being sent again, so nothing is created twice. Each `run()` or
    `stream()` is a job of its own; leaving `async with` closes streams left open.
    Options are those of `BulkSettings`; an invalid one raises ConfigurationError.
    """

    def __init__(self, client: BulkClient, **options: Unpack[BulkOptions]) -> None:
        self.client = client
        self.settings = BulkSettings(**options)
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
