"""What a shard tells when it ends, as the queue stores it (JSON), and one report merged
from every shard's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from ..bulk import BulkReport, BulkResult
from .shards import Shard

#: How many failures of each shard its result names (the rest are in its failed file).
SHOWN_FAILURES = 20


@attrs.frozen
class ShardOutcome:
    """How one shard ended: `status` is SAQ's (`complete`, `failed`, `aborted`) or
    `refused` (it could never succeed: the file changed, another account...), `report`
    its bulk report (empty when it never finished), `error` why it did not."""

    shard: Shard
    status: str
    report: BulkReport
    failed_file: Path | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the shard ran to its end and every input of it is done."""
        return self.status == "complete" and self.report.ok


@attrs.frozen
class ShardedReport:
    """Every shard's outcome, and one report summing them (`merged`)."""

    shards: list[ShardOutcome]
    merged: BulkReport

    @property
    def ok(self) -> bool:
        """True when every shard finished with every input done."""
        return all(outcome.ok for outcome in self.shards)


def merge(outcomes: list[ShardOutcome]) -> ShardedReport:
    """One report of every shard: counts, retries and 429s summed, failures by line, the
    time of the slowest; a shard that never finished is named in `stopped_by`."""
    merged = BulkReport()
    for outcome in outcomes:
        part = outcome.report
        merged.total += part.total
        merged.counts.update(part.counts)
        merged.failures.extend(part.failures)
        merged.retries += part.retries
        merged.rate_limited += part.rate_limited
        merged.unrecorded += part.unrecorded
        merged.elapsed = max(merged.elapsed, part.elapsed)
        stop = part.stopped_by if outcome.status == "complete" else outcome.error or outcome.status
        if stop and merged.stopped_by is None:
            merged.stopped_by = f"{outcome.shard.name}: {stop}"
    merged.failures.sort(key=lambda failure: failure.index)
    return ShardedReport(outcomes, merged)


def report_to_dict(report: BulkReport, lines: list[int]) -> dict[str, Any]:
    """A shard's report as the queue stores it (JSON); `lines` maps the shard's input
    indexes to line numbers, so failures name the file's lines."""
    return {
        "total": report.total,
        "counts": dict(report.counts),
        "failures": [
            {
                "line": lines[failure.index] if failure.index < len(lines) else None,
                "key": failure.key,
                "operation": failure.operation,
                "outcome": failure.outcome,
                "attempts": failure.attempts,
                "detail": failure.detail,
            }
            for failure in report.failures[:SHOWN_FAILURES]
        ],
        "retries": report.retries,
        "rate_limited": report.rate_limited,
        "elapsed": report.elapsed,
        "stopped_by": report.stopped_by,
        "unrecorded": report.unrecorded,
    }


def report_from_dict(data: dict[str, Any]) -> BulkReport:
    """A shard's report read back from the queue; failures indexed by line - 1."""
    return BulkReport(
        total=int(data.get("total", 0)),
        counts=Counter({str(k): int(v) for k, v in (data.get("counts") or {}).items()}),
        failures=[
            BulkResult(
                index=int(failure["line"] or 0) - 1,
                key=str(failure["key"]),
                operation=str(failure["operation"]),
                outcome=failure["outcome"],
                attempts=int(failure["attempts"]),
                detail=failure["detail"],
            )
            for failure in data.get("failures") or []
        ],
        retries=int(data.get("retries", 0)),
        rate_limited=int(data.get("rate_limited", 0)),
        elapsed=float(data.get("elapsed", 0.0)),
        stopped_by=data.get("stopped_by"),
        unrecorded=int(data.get("unrecorded", 0)),
    )
