"""A job's ledger: every input taken stays in it until its result is in the report."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from ..errors import JournalError
from ..operations import Operation
from ..writes import WriteResult
from .journal import Journal
from .results import BulkReport, BulkResult, key_of, result_of


class Ledger:
    """What a job took (`taken`), what finished (`computed`) and what is on the wire
    (`executing`), until each result is accounted for in the report and the journal.

    A cancelled or failed job still accounts for every input it took (`close`).
    """

    def __init__(
        self, report: BulkReport, journal: Journal | None, accounted: Callable[[], None]
    ) -> None:
        self.report = report
        self.journal = journal
        self.accounted = accounted
        """Called after each input is accounted for (the job's progress report)."""
        self.taken: dict[int, tuple[Operation, str]] = {}
        """Every input not yet accounted for: the operation and its journal key."""
        self.computed: dict[int, BulkResult] = {}
        self.executing: set[int] = set()

    def enter(self, index: int, operation: Operation, key: str) -> None:
        """Put a taken input in the ledger, before anything about it is awaited."""
        self.taken[index] = (operation, key)

    def skip_done(self, index: int) -> None:
        """Count an input an earlier run did, when nobody reads its result."""
        del self.taken[index]
        self.report.add_skipped()

    def settle(self, result: BulkResult) -> None:
        """Hold an input's result until it is accounted for; record it in the journal."""
        self.computed[result.index] = result
        if self.journal and result.outcome != "skipped":
            self.journal.finished(result.key, result.index, result.outcome, result.detail)

    def account(self, index: int) -> BulkResult:
        """Take a settled input off the ledger into the report."""
        del self.taken[index]
        result = self.computed.pop(index)
        self.report.add(result)
        self.accounted()
        return result

    def count_write(self, index: int, key: str, write: WriteResult) -> None:
        """Account for a write made when nobody reads its result: counts and journal only.

        Counted first: a journal that fails to record it must not make it look unsent.
        """
        del self.taken[index]
        self.report.count(write.outcome, write.attempts)
        if self.journal:
            self.journal.finished(key, index, write.outcome, None)
        self.accounted()

    def close(self, untaken: Iterable[tuple[int, Operation]]) -> None:
        """Account for every input left (done, interrupted, never sent, or never taken
        from `untaken`), record those left in the journal and close it; a failing journal
        cannot shorten the report."""
        left: list[BulkResult] = []
        for index, (operation, key) in sorted(self.taken.items()):
            if index in self.computed:
                self.report.add(self.computed[index])
                continue
            if index in self.executing:
                result = result_of(index, operation, key, "interrupted", detail="cancelled")
            else:
                result = result_of(index, operation, key, "not_attempted", detail="job cancelled")
            self.report.add(result)
            left.append(result)
        for index, operation in untaken:
            key, _ = key_of(operation)
            self.report.add(
                result_of(index, operation, key, "not_attempted", detail="job cancelled")
            )
        if self.journal:
            self._close_journal(left)

    def _close_journal(self, left: list[BulkResult]) -> None:
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
