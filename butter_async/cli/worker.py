"""`butter-async import-worker`: SAQ's worker serving the shards of sharded imports."""

from __future__ import annotations

import logging
import os

import click

from ..jobs.environment import ENV_BASE, ENV_QUEUE, ENV_READ, ENV_SHARED_PACE, ENV_SWEEP, ENV_WRITE
from .common import connection_options, fail_usage, main, queue_option


@main.command(name="import-worker")
@connection_options
@queue_option
@click.option(
    "--shared-pace",
    envvar=ENV_SHARED_PACE,
    metavar="REDIS_URL",
    default=None,
    help=f"The Redis that shares the account's pace (env {ENV_SHARED_PACE}; default: the queue's).",
)
@click.option(
    "--sweep",
    type=click.IntRange(min=1),
    envvar=ENV_SWEEP,
    default=10,
    show_default=True,
    help="How often (seconds) to look for shards whose worker died, to run them again.",
)
def import_worker(
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    queue_url: str | None,
    shared_pace: str | None,
    sweep: int,
) -> None:
    """Run shards of `import --shards` as they are queued, one at a time, until stopped
    (the same worker as `saq butter_async.jobs.shard_worker.worker_settings`)."""
    if not token or not write_token:
        fail_usage("an import worker needs --token and --write-token (or their variables)")
    if not queue_url:
        fail_usage(f"an import worker needs --queue REDIS_URL or ${ENV_QUEUE}")
    # The worker's settings read this process's environment: the tokens stay in it.
    given = {ENV_READ: token, ENV_WRITE: write_token, ENV_BASE: base_url, ENV_QUEUE: queue_url}
    given |= {ENV_SHARED_PACE: shared_pace, ENV_SWEEP: str(sweep)}
    os.environ.update({name: value for name, value in given.items() if value})
    try:
        from saq.worker import start
    except ImportError:
        fail_usage("import-worker needs SAQ: pip install 'butter-async[queue]'")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    start("butter_async.jobs.shard_worker.worker_settings")
