"""The workers' side of a sharded import: `worker_settings` is what SAQ serves the shards
with (`saq butter_async.jobs.shard_worker.worker_settings`, or `butter-async
import-worker`), and `import_shard` writes one shard with its own journal and the shared
pace, beating the job's heartbeat so that only a dead worker's shard is swept and run
again. Tokens never travel through the queue: workers read them from their environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..bulk import BulkProgress, BulkReport, RedisPace
from ..client import ButterClient
from ..errors import ConfigurationError, ImportTargetError, JournalLockedError, JsonLinesError
from ..transport import DEFAULT_CONNECTOR_LIMIT
from .environment import ENV_BASE, ENV_QUEUE, ENV_READ, ENV_SHARED_PACE, ENV_SWEEP, ENV_WRITE
from .import_queue import open_queue
from .imports import ImportJob
from .jsonl import ImportKind
from .shard_reports import report_to_dict
from .shards import Shard

if TYPE_CHECKING:
    from saq import Job

_SWEEP_DEFAULT = 10


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
        if job.digest != digest:
            raise ImportTargetError(f"{source}: the file changed since the import was planned")
        _refuse_duplicating_retry(job, context["job"].attempts)
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


def _refuse_duplicating_retry(job: ImportJob, attempts: int) -> None:
    """Refuse to run a shard of collection items with no `match_on` again without the
    journal of its earlier run (on a disk this worker does not share?): items have no
    slug, so nothing else tells which of them that run created."""
    unmatched = job.kind == "collection" and not job.defaults["match_on"]
    if attempts > 1 and unmatched and not job.journal.exists():
        raise ImportTargetError(
            f"{job.journal} is missing on this worker, and this shard ran before: writing "
            "its items again could duplicate what that run created (items have no slug). "
            "Give every worker the folder of the file and its journals, or import with "
            "--match-on FIELD"
        )


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
