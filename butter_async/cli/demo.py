"""`butter-async demo`: the demo job, with a progress bar on a terminal."""

from __future__ import annotations

import contextlib
import sys

import click

from ..jobs.environment import ENV_WRITE
from .common import connection_options, fail_usage, main, run
from .progress import progress_bar


@main.command()
@connection_options
@click.option("--posts", default=5000, show_default=True, help="Posts to seed in the emulator.")
@click.option("--pages", default=2000, show_default=True, help="Recipe pages to seed.")
@click.option("--items", default=500, show_default=True, help="Collection items to seed.")
@click.option("--writes", default=3000, show_default=True, help="Pages to bulk-import.")
@click.option("--latency", default=0.02, show_default=True, help="Emulated latency (s).")
@click.option("--concurrency", default=50, show_default=True, help="Bulk writer concurrency.")
@click.option(
    "--write",
    "allow_write",
    is_flag=True,
    help="With a real account: also run the bulk import (needs a write token).",
)
@click.pass_context
def demo(
    context: click.Context,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    posts: int,
    pages: int,
    items: int,
    writes: int,
    latency: float,
    concurrency: int,
    allow_write: bool,
) -> None:
    """Stream and bulk-write against the embedded emulator (or, with a token, your account)."""
    from ..jobs.demo import run_demo

    if token and allow_write and not write_token:
        fail_usage(f"--write needs a write token: --write-token or ${ENV_WRITE}")
    # A bar on a terminal; piped or redirected, the report alone (no bar frames in a log).
    bar = progress_bar("bulk import", total=writes) if sys.stdout.isatty() else None
    with bar or contextlib.nullcontext() as progress:
        report = run(
            run_demo(
                token=token,
                write_token=write_token if allow_write else None,
                base_url=base_url,
                posts=posts,
                pages=pages,
                items=items,
                writes=writes,
                latency=latency,
                concurrency=concurrency,
                progress=progress,
            ),
            verbose=context.obj["verbose"],
        )
    click.echo(report)
