"""`butter-async import`: the import job, interruptible, with a progress bar and the
command that resumes it."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from ..bulk import BulkReport, RedisPace
from ..errors import ConfigurationError, JsonLinesError
from ..jobs.environment import ENV_QUEUE, ENV_READ, ENV_SHARED_PACE, ENV_WRITE
from ..jobs.import_queue import ShardState, run_sharded
from ..jobs.imports import ImportJob
from ..jobs.jsonl import ImportKind
from ..jobs.shard_reports import ShardedReport
from ..transport import DEFAULT_CONNECTOR_LIMIT
from .common import connection_options, fail_usage, main, make_client, queue_option, run
from .progress import progress_bar

#: The exit code of an import that finished but left out lines as invalid (--skip-invalid).
EXIT_SKIPPED_INVALID = 3


@main.command(name="import")
@connection_options
@click.argument("kind", type=click.Choice(["pages", "posts", "collection"]))
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--page-type", default=None, help="Page type for lines that name none.")
@click.option("--collection", "collection_key", default=None, help="Collection key (collection).")
@click.option(
    "--status",
    type=click.Choice(["draft", "published"]),
    default=None,
    help="Status for lines that give none (default: the line's, else draft).",
)
@click.option("--concurrency", default=32, show_default=True)
@click.option("--rate-limit", type=float, default=None, help="Requests per second ceiling.")
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Journal file (default: SOURCE.journal): re-run with it to resume.",
)
@click.option(
    "--force-journal",
    is_flag=True,
    help="Resume a journal written for another target or input anyway.",
)
@click.option(
    "--failed",
    "failed_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where failed lines go (default: SOURCE.failed.jsonl).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate every line, and with a token check that the target has the page types, "
    "collections and authors they name; send nothing.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Write invalid lines to SOURCE.invalid.jsonl and import the rest.",
)
@click.option(
    "--match-on",
    default=None,
    metavar="FIELD",
    help="Collection items: the field that identifies an item; items already there "
    "with the same value are not created again.",
)
@click.option(
    "--allow-duplicates",
    is_flag=True,
    help="Import items into a collection that has items, without --match-on.",
)
@click.option(
    "--shared-pace",
    envvar="BUTTER_SHARED_PACE",
    metavar="REDIS_URL",
    default=None,
    help="Share one pace through this Redis with every import on the account (env "
    "BUTTER_SHARED_PACE): together they send at the rate one would.",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=None,
    help="Split the import into N shards by a hash of each slug or key, run as jobs of "
    "the queue (--queue) by `butter-async import-worker` processes; wait, then merge.",
)
@queue_option
@click.option(
    "--shard-heartbeat",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Seconds without a heartbeat after which a shard's worker counts as dead and "
    "the shard is run again from its journal.",
)
@click.pass_context
def import_(
    context: click.Context,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    kind: ImportKind,
    source: Path,
    page_type: str | None,
    collection_key: str | None,
    status: str | None,
    concurrency: int,
    rate_limit: float | None,
    journal: Path | None,
    force_journal: bool,
    failed_path: Path | None,
    dry_run: bool,
    skip_invalid: bool,
    match_on: str | None,
    allow_duplicates: bool,
    shared_pace: str | None,
    shards: int | None,
    queue_url: str | None,
    shard_heartbeat: int,
) -> None:
    """Bulk-import JSON Lines of pages, posts or collection items."""
    if shards is not None:
        if not queue_url:
            fail_usage(f"--shards needs --queue REDIS_URL or ${ENV_QUEUE}")
        for name, given in (("--journal", journal), ("--failed", failed_path)):
            if given is not None:
                fail_usage(f"{name}: each shard has its own (SOURCE.shard-K-of-N...)")
        if shared_pace or force_journal:
            fail_usage(
                "--shared-pace and --force-journal are the workers' own: with --shards, "
                f"the workers share a pace through ${ENV_SHARED_PACE} or the queue's Redis"
            )
    try:
        job = ImportJob(
            source,
            kind,
            page_type=page_type,
            collection=collection_key,
            status=status,
            match_on=match_on,
            allow_duplicates=allow_duplicates,
            skip_invalid=skip_invalid,
            journal=journal,
            failed_file=failed_path,
        )
        needs = job.validate()
    except (ConfigurationError, JsonLinesError) as error:
        fail_usage(str(error))
    if needs.invalid:
        click.echo(f"{len(needs.invalid)} invalid line(s) written to {job.invalid_file}", err=True)
    verbose = context.obj["verbose"]
    if dry_run:
        if token:

            async def check() -> None:
                async with make_client(token, None, base_url) as butter:
                    await job.check(butter)

            run(check(), verbose=verbose)
            click.echo(
                f"{source}: every line is valid, and the target has what they need", err=True
            )
        else:
            click.echo(
                f"{source}: every line is valid (no token: the target was not checked)", err=True
            )
        return
    if shards is not None:
        assert queue_url is not None
        sharded = run(
            run_on_queue(
                job, token, base_url, queue_url, shards, concurrency, rate_limit, shard_heartbeat
            ),
            verbose=verbose,
        )
        click.echo(describe_sharded(sharded))
        if not sharded.ok:
            context.exit(1)
        context.exit(EXIT_SKIPPED_INVALID if needs.invalid else 0)
    if not write_token:
        fail_usage(f"import needs a write token: --write-token or ${ENV_WRITE}")
    try:
        pace = RedisPace(url=shared_pace) if shared_pace else None
    except ConfigurationError as error:
        fail_usage(f"--shared-pace: {error}")
    interrupted: list[str] = []

    async def go() -> BulkReport:
        # The checks make the session, so its pool is sized for the job up front.
        pool = max(DEFAULT_CONNECTOR_LIMIT, concurrency)
        async with make_client(token, write_token, base_url, connector_limit=pool) as butter:
            with progress_bar("importing") as update:
                running = asyncio.ensure_future(
                    job.run(
                        butter,
                        concurrency=concurrency,
                        rate_limit=rate_limit,
                        force_journal=force_journal,
                        shared_pace=pace,
                        progress=update,
                    )
                )
                with stopped_by_signals(running, interrupted):
                    try:
                        return await running
                    except asyncio.CancelledError:
                        if not interrupted:
                            raise
                        return job.report  # complete: the job accounted for every input

    report = run(go(), verbose=verbose)
    click.echo(describe(report, job.failed_file))
    if interrupted:
        click.echo(
            f"interrupted by {interrupted[0]}: the journal {job.journal} holds what was done; "
            f"resume with:\n  {resume_command(sys.argv)}",
            err=True,
        )
        context.exit(130)
    if not report.ok:
        context.exit(1)
    if needs.invalid:
        context.exit(EXIT_SKIPPED_INVALID)


async def run_on_queue(
    job: ImportJob,
    token: str | None,
    base_url: str | None,
    queue_url: str,
    shards: int,
    concurrency: int,
    rate_limit: float | None,
    heartbeat: int,
) -> ShardedReport:
    """Queue the shards and wait for them, saying each change of a shard's state."""

    def said(state: ShardState) -> None:
        tried = f", attempt {state.attempts}" if state.attempts > 1 else ""
        click.echo(f"{state.shard.name}: {state.status}, {state.done} done{tried}", err=True)

    async with make_client(token, None, base_url) as butter:
        try:
            return await run_sharded(
                job,
                butter,
                queue_url,
                shards,
                concurrency=concurrency,
                rate_limit=rate_limit,
                heartbeat=heartbeat,
                on_change=said,
            )
        except asyncio.CancelledError:
            click.echo("the shards stay queued: run the same command to wait for them", err=True)
            raise


def describe_sharded(sharded: ShardedReport) -> str:
    """The merged report, then one line per shard."""
    lines = [describe(sharded.merged, None)]
    for outcome in sharded.shards:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(outcome.report.counts.items()))
        line = f"  {outcome.shard.name}: {outcome.status}" + (f": {counts}" if counts else "")
        if outcome.error:
            line += f" ({outcome.error})"
        if outcome.failed_file:
            line += f"; failed lines in {outcome.failed_file}"
        lines.append(line)
    return "\n".join(lines)


@contextlib.contextmanager
def stopped_by_signals(job: asyncio.Future[Any], received: list[str]) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, cancel `job` (which then accounts for every input)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):

        def stop(name: str = sig.name) -> None:
            received.append(name)
            job.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


_SECRET_OPTIONS = {
    "--token": "$" + ENV_READ,
    "--write-token": "$" + ENV_WRITE,
    "--shared-pace": "$" + ENV_SHARED_PACE,  # a Redis URL may hold a password
    "--queue": "$" + ENV_QUEUE,
}


def resume_command(argv: list[str]) -> str:
    """The command line that resumes this run, with token values replaced by variables."""
    words = ["butter-async"]
    hide_next: str | None = None
    for word in argv[1:]:
        if hide_next is not None:
            words.append(hide_next)
            hide_next = None
            continue
        name, equals, _ = word.partition("=")
        if name in _SECRET_OPTIONS:
            if equals:
                words.append(f"{name}={_SECRET_OPTIONS[name]}")
            else:
                words.append(word)
                hide_next = _SECRET_OPTIONS[name]
            continue
        words.append(shlex.quote(word))
    return " ".join(words)


def describe(report: BulkReport, failed_file: Path | None) -> str:
    """A short human summary of a bulk report."""
    counts = ", ".join(f"{outcome} {n}" for outcome, n in sorted(report.counts.items()))
    taken = f" of {report.total} taken" if report.done != report.total else ""
    lines = [
        f"{report.done} operations done{taken} in {report.elapsed:.1f}s "
        f"({report.throughput:,.0f}/s): {counts}",
        f"retries {report.retries}, rate limited {report.rate_limited}",
    ]
    if report.stopped_by:
        lines.append(f"stopped early: {report.stopped_by} (nothing more was sent)")
    for failure in report.failures[:5]:
        lines.append(f"  #{failure.index + 1} {failure.key}: {failure.outcome}: {failure.detail}")
    if report.failures and failed_file is not None:
        lines.append(f"failed lines written to {failed_file}")
    return "\n".join(lines)
