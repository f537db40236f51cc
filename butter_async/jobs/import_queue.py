"""An import sharded over a SAQ job queue: `run_sharded` checks the file and the target
once, queues one job per shard, follows them and merges their reports. The workers'
side is `shard_worker`; the reports' form on the queue is `shard_reports`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..bulk import BulkReport
from ..client import ButterClient
from ..errors import ConfigurationError, ImportTargetError
from .imports import ImportJob
from .shard_reports import ShardedReport, ShardOutcome, merge, report_from_dict
from .shards import Shard

if TYPE_CHECKING:
    from saq import Job, Queue

#: The SAQ queue every sharded import uses.
QUEUE_NAME = "butter-async-import"
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
class ShardState:
    """What the coordinator last saw of a shard: SAQ's status and inputs settled."""

    shard: Shard
    status: str
    done: int
    attempts: int


def shard_key(job: ImportJob, account: str, shard: Shard) -> str:
    """The queue's key of one shard: the same import planned again finds its jobs."""
    target = job.defaults["collection"] or job.defaults["page_type"] or "-"
    return f"{job.digest}:{job.kind}:{target}:{account}:{shard.name}"


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
        "digest": job.digest,
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
    try:
        report = report_from_dict(result.get("report") or {})
    except (KeyError, TypeError, ValueError):
        # Not a result a worker wrote: say so rather than count it.
        return ShardOutcome(
            shard, "damaged", BulkReport(), error="its result in the queue is damaged"
        )
    return ShardOutcome(
        shard=shard,
        status="refused" if refused else ended.status.value,
        report=report,
        failed_file=Path(str(failed_file)) if failed_file else None,
        error=str(refused) if refused else (error_lines[-1] if error_lines else None),
    )
