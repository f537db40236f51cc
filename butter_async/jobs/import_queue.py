"""An import sharded over a SAQ job queue: `run_sharded` plans the shards, queues one job
per shard and merges their reports; `worker_settings` is what a worker serves them with
(`saq butter_async.jobs.import_queue.worker_settings`, or `butter-async import-worker`).

Each shard is an `ImportJob` of the lines whose key hashes to it, with a journal of its
own and the shared pace. A worker that dies stops sending heartbeats; a live worker's
sweep then hands its shard to the queue again, and the next run resumes from the journal.
Tokens never travel through the queue: workers read them from their environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..bulk import BulkProgress, BulkReport, BulkResult, RedisPace
from ..client import ButterClient
from ..errors import ConfigurationError, ImportTargetError, JournalLockedError, JsonLinesError
from ..transport import DEFAULT_CONNECTOR_LIMIT
from .environment import ENV_BASE, ENV_QUEUE, ENV_READ, ENV_SHARED_PACE, ENV_SWEEP, ENV_WRITE
from .imports import ImportJob, file_digest
from .jsonl import ImportKind
from .shards import Shard

if TYPE_CHECKING:
    from saq import Job, Queue

#: The SAQ queue every sharded import uses.
QUEUE_NAME = "butter-async-import"
#: How many failures of each shard its result names (the rest are in its failed file).
SHOWN_FAILURES = 20
_SWEEP_DEFAULT = 10
_KEEP_RESULTS = 7 * 24 * 3600


def open_queue(url: str) -> Queue:
    """The import queue on the Redis at `url` (the `queue` extra: SAQ)."""
    try:
        from saq import Queue
    except ImportError:
        raise ConfigurationError(
            "sharded imports need SAQ: pip install 'butter-async[queue]'"
        ) from None
    return Queue.from_url(url, name=QUEUE_NAME)


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


@attrs.frozen
class ShardState:
    """What the coordinator last saw of a shard: SAQ's status and inputs settled."""

    shard: Shard
    status: str
    done: int
    attempts: int


def shard_key(job: ImportJob, account: str, shard: Shard) -> str:
    """The queue's key of one shard: the same import planned again finds its jobs."""
    target = job.defaults["collection"] or job.defaults["page_type"] or "-"
    return f"{file_digest(job.source)}:{job.kind}:{target}:{account}:{shard.name}"


async def run_sharded(
    job: ImportJob,
    butter: ButterClient,
    queue_url: str,
    shards: int,
    *,
    concurrency: int = 32,
    rate_limit: float | None = None,
    heartbeat: int = 30,
    attempts: int = 5,
    on_change: Callable[[ShardState], None] | None = None,
    poll_interval: float = 0.5,
) -> ShardedReport:
    """Check the file and the target once, queue one job per shard (or find those already
    queued for this import), wait for every one to end, and merge their reports.

    Shards already complete with every input done are not run again; failed ones are.
    Cancelling this leaves the shards queued: run it again to wait for them."""
    if heartbeat < 1 or attempts < 1:
        raise ConfigurationError("heartbeat and attempts must be 1 or more")
    parts = Shard.every(shards)
    await job.check(butter)
    queue = open_queue(queue_url)
    await queue.connect()
    try:
        keys = {shard: shard_key(job, butter.account_fingerprint, shard) for shard in parts}
        known = dict(zip(parts, await queue.jobs(keys.values()), strict=True))
        if not any(known.values()):
            await job.guard_collection(butter)
        arguments = _shard_arguments(job, butter, concurrency, rate_limit)
        for shard, queued in known.items():
            if queued is None or _to_run_again(queued):
                await queue.enqueue(
                    "import_shard",
                    key=keys[shard],
                    timeout=0,
                    heartbeat=heartbeat,
                    retries=attempts,
                    retry_delay=1.0,
                    retry_backoff=30.0,
                    ttl=_KEEP_RESULTS,
                    shard=shard.number,
                    shards=shard.count,
                    **arguments,
                )
        ended = await _wait(queue, keys, on_change, poll_interval)
    finally:
        await queue.disconnect()
    return merge([_outcome(shard, ended[shard]) for shard in parts])


def _shard_arguments(
    job: ImportJob, butter: ButterClient, concurrency: int, rate_limit: float | None
) -> dict[str, Any]:
    """What every shard's job carries: the import, and the account it was planned for
    (by fingerprint: never a token)."""
    return {
        "source": str(job.source.resolve()),
        "kind": job.kind,
        "digest": file_digest(job.source),
        "defaults": job.defaults,
        "skip_invalid": job.skip_invalid,
        "account": butter.account_fingerprint,
        "api_root": str(butter.base_url),
        "concurrency": concurrency,
        "rate_limit": rate_limit,
    }


def _to_run_again(queued: Job) -> bool:
    from saq.job import Status

    if queued.status in (Status.FAILED, Status.ABORTED):
        return True
    return queued.status == Status.COMPLETE and not _result_ok(queued.result)


def _result_ok(result: object) -> bool:
    return isinstance(result, dict) and bool(result.get("ok"))


async def _wait(
    queue: Queue,
    keys: dict[Shard, str],
    on_change: Callable[[ShardState], None] | None,
    poll_interval: float,
) -> dict[Shard, Job]:
    """Poll until every shard's job has ended; report each change of state."""
    from saq.job import TERMINAL_STATUSES

    seen: dict[Shard, ShardState] = {}
    while True:
        jobs: dict[Shard, Job] = {}
        for shard, queued in zip(keys, await queue.jobs(keys.values()), strict=True):
            if queued is None:
                raise ImportTargetError(f"{shard.name}: its job left the queue unfinished")
            jobs[shard] = queued
            meta = queued.meta or {}
            state = ShardState(
                shard, queued.status.value, int(meta.get("done", 0)), queued.attempts
            )
            if seen.get(shard) != state:
                seen[shard] = state
                if on_change is not None:
                    on_change(state)
        if all(
            queued is not None and queued.status in TERMINAL_STATUSES for queued in jobs.values()
        ):
            return {shard: queued for shard, queued in jobs.items() if queued is not None}
        await asyncio.sleep(poll_interval)


def _outcome(shard: Shard, ended: Job) -> ShardOutcome:
    result = ended.result if isinstance(ended.result, dict) else {}
    error_lines = (ended.error or "").strip().splitlines()
    failed_file = result.get("failed_file")
    refused = result.get("refused")
    return ShardOutcome(
        shard=shard,
        status="refused" if refused else ended.status.value,
        report=report_from_dict(result.get("report") or {}),
        failed_file=Path(failed_file) if failed_file else None,
        error=refused or (error_lines[-1] if error_lines else None),
    )


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


@attrs.frozen(repr=False)
class WorkerAccount:
    """What a worker writes with, read from its environment: tokens never enter the queue."""

    read_token: str
    write_token: str
    base_url: str | None
    shared_pace: str

    def __repr__(self) -> str:
        return f"<WorkerAccount {self.base_url or 'default API root'}>"

    @classmethod
    def from_environment(cls, queue_url: str) -> WorkerAccount:
        """Tokens from `BUTTER_READ_TOKEN` and `BUTTER_WRITE_TOKEN`; the shared pace from
        `BUTTER_SHARED_PACE`, else the queue's Redis."""
        read, write = os.environ.get(ENV_READ), os.environ.get(ENV_WRITE)
        if not read or not write:
            raise ConfigurationError(f"an import worker needs ${ENV_READ} and ${ENV_WRITE}")
        pace = os.environ.get(ENV_SHARED_PACE) or queue_url
        return cls(read, write, os.environ.get(ENV_BASE) or None, pace)


def worker_settings() -> dict[str, Any]:
    """SAQ's settings for a worker serving sharded imports: the queue from `BUTTER_QUEUE`
    (default `redis://localhost:6379/0`), one shard at a time, a sweep for the shards of
    dead workers every `BUTTER_QUEUE_SWEEP` seconds (default 10)."""
    url = os.environ.get(ENV_QUEUE) or "redis://localhost:6379/0"
    account = WorkerAccount.from_environment(url)
    sweep = int(os.environ.get(ENV_SWEEP) or _SWEEP_DEFAULT)
    if sweep < 1:
        raise ConfigurationError(f"${ENV_SWEEP} must be 1 or more seconds")

    async def startup(context: dict[str, Any]) -> None:
        context["account"] = account

    return {
        "queue": open_queue(url),
        "functions": [("import_shard", import_shard)],
        "concurrency": 1,
        "startup": startup,
        "timers": {"sweep": sweep},
    }


async def import_shard(
    context: dict[str, Any],
    *,
    source: str,
    kind: ImportKind,
    digest: str,
    defaults: dict[str, str | None],
    skip_invalid: bool,
    account: str,
    api_root: str,
    concurrency: int,
    rate_limit: float | None,
    shard: int,
    shards: int,
) -> dict[str, Any]:
    """The queue's job: write one shard with its journal, beating the job's heartbeat.

    What can never succeed (the file changed, another account, a target without the page
    type) ends the shard as refused rather than failing it, so the queue does not retry it.
    """
    writer: WorkerAccount = context["account"]
    part = Shard(shard, shards)
    try:
        job = ImportJob(
            Path(source),
            kind,
            page_type=defaults.get("page_type"),
            collection=defaults.get("collection"),
            status=defaults.get("status"),
            match_on=defaults.get("match_on"),
            skip_invalid=skip_invalid,
            shard=part,
        )
        if file_digest(job.source) != digest:
            raise ImportTargetError(f"{source}: the file changed since the import was planned")
        options: dict[str, Any] = {"connector_limit": max(DEFAULT_CONNECTOR_LIMIT, concurrency)}
        if writer.base_url:
            options["base_url"] = writer.base_url
        async with ButterClient(writer.read_token, writer.write_token, **options) as butter:
            if butter.account_fingerprint != account or str(butter.base_url) != api_root:
                raise ImportTargetError(
                    f"{part.name}: this worker writes to {butter.base_url} as account "
                    f"{butter.account_fingerprint}; the import is for {api_root} as {account}"
                )
            async with _heartbeat(context["job"]) as (progress, interval):
                report = await _run_when_free(
                    job,
                    interval,
                    butter,
                    concurrency=concurrency,
                    rate_limit=rate_limit,
                    shared_pace=RedisPace(url=writer.shared_pace),
                    progress=progress,
                )
    except (ImportTargetError, ConfigurationError, JsonLinesError, OSError) as error:
        return {"ok": False, "refused": f"{type(error).__name__}: {error}"}
    lines = [number for number, _ in job.lines()] if report.failures else []
    return {
        "ok": report.ok,
        "report": report_to_dict(report, lines),
        "failed_file": str(job.failed_file) if job.failed_file.exists() else None,
        "journal": str(job.journal),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


async def _run_when_free(
    job: ImportJob, interval: float, butter: ButterClient, **options: Any
) -> BulkReport:
    """Run the shard; if another run of it holds its journal (the queue may hand a shard
    out twice: SAQ's sweep can take one just dequeued for stuck), wait for that run to end,
    then resume from the journal. Nothing is sent while the journal is held."""
    while True:
        try:
            return await job.run(butter, **options)
        except JournalLockedError:
            await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def _heartbeat(
    queued: Job,
) -> AsyncIterator[tuple[Callable[[BulkProgress], None], float]]:
    """Touch the job a few times per heartbeat (with inputs settled so far), so that only
    a dead worker's shard is swept; yields the progress callback that feeds it, and the
    interval of the beats."""
    done = [0]
    interval = max(queued.heartbeat / 3, 0.2) if queued.heartbeat else 10.0

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):  # a missed beat is retried; the job goes on
                await queued.update(meta={"done": done[0]})

    def progress(snapshot: BulkProgress) -> None:
        done[0] = snapshot.done

    beating = asyncio.create_task(beat())
    try:
        yield progress, interval
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
