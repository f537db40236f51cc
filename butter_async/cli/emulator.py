"""`butter-async emulator`: the local ButterCMS emulator's own command line."""

from __future__ import annotations

import click

from .common import main


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def emulator(context: click.Context) -> None:
    """Serve the local ButterCMS emulator until interrupted (see `emulator --help`)."""
    from ..testing.command import main as serve_emulator

    serve_emulator(list(context.args), prog="butter-async emulator")
