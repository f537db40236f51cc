"""What a bulk job tells: one result per input, progress snapshots, and the report."""

from __future__ import annotations

from collections import Counter
from typing import Literal

import attrs

from ..errors import APIError
from ..writes import WriteResult

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


def failed_result(index: int, operation: object, key: str, error: Exception) -> BulkResult:
    """The result of an input whose write failed with `error`."""
    detail = error.detail if isinstance(error, APIError) else str(error)
    return result_of(index, operation, key, "failed", attempts=1, detail=detail, error=error)


def written_result(index: int, operation: object, key: str, write: WriteResult) -> BulkResult:
    """The result of an input whose write was made."""
    return result_of(
        index,
        operation,
        key,
        write.outcome,
        attempts=write.attempts,
        confirmed_by_read=write.confirmed_by_read,
    )


def key_of(operation: object) -> tuple[str, Exception | None]:
    """An operation's journal key, or a stand-in from its repr and why it has none."""
    try:
        return str(operation.key), None  # type: ignore[attr-defined]
    except Exception as error:
        return repr(operation)[:120], error


def result_of(
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
    """The result of input `index`, named by the operation's `name`."""
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
