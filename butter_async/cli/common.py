"""What every command shares: the group, connection options, the client, and errors as
one-line messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click

from ..client import ButterClient
from ..errors import ButterError, ImportTargetError, JsonLinesError
from ..jobs.environment import ENV_BASE, ENV_QUEUE, ENV_READ, ENV_WRITE

T = TypeVar("T")


def run(coroutine: Awaitable[T], *, verbose: bool) -> T:
    """Run a command's coroutine; SDK and input errors become one-line messages."""
    try:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    except ImportTargetError as error:  # the input does not fit the target: a usage error
        raise click.UsageError(str(error)) from None
    except (ButterError, JsonLinesError, OSError) as error:
        if verbose:
            raise
        raise click.ClickException(str(error)) from None


def fail_usage(message: str) -> NoReturn:
    """A bad-input error: one line, exit code 2."""
    raise click.UsageError(message)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(context: click.Context, verbose: bool) -> None:
    """Stream, export and bulk-import ButterCMS content, or serve a local emulator."""
    context.obj = {"verbose": verbose}


def connection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--token, --write-token and --base-url, read from the environment when not given."""
    function = click.option(
        "--base-url", envvar=ENV_BASE, default=None, help=f"API root (env {ENV_BASE})."
    )(function)
    function = click.option(
        "--write-token",
        envvar=ENV_WRITE,
        default=None,
        show_default=False,
        help=f"Write API token (env {ENV_WRITE}); never printed.",
    )(function)
    return click.option(
        "--token",
        envvar=ENV_READ,
        default=None,
        show_default=False,
        help=f"Read API token (env {ENV_READ}); never printed.",
    )(function)


def make_client(
    token: str | None, write_token: str | None, base_url: str | None, **options: Any
) -> ButterClient:
    """A client from the connection options; a missing token is a usage error."""
    if not token:
        fail_usage(f"a read token is required: --token or ${ENV_READ}")
    assert token is not None
    if base_url:
        options["base_url"] = base_url
    return ButterClient(token, write_token, **options)


#: `--queue`: the Redis of the sharded imports' queue, from `$BUTTER_QUEUE` when not given.
queue_option = click.option(
    "--queue",
    "queue_url",
    envvar=ENV_QUEUE,
    metavar="REDIS_URL",
    default=None,
    help=f"The Redis of the import queue, for sharded imports (env {ENV_QUEUE}).",
)
