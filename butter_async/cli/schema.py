"""`butter-async schema export`: an account's content schema, for the emulator."""

from __future__ import annotations

from pathlib import Path

import click

from .common import connection_options, fail_usage, main, make_client, run


@main.group()
def schema() -> None:
    """The schema of an account's content, for the emulator (`emulator --schema FILE`)."""


@schema.command(name="export")
@connection_options
@click.option("--page-type", "page_types", multiple=True, help="A page type (repeatable).")
@click.option("--collection", "collections", multiple=True, help="A collection (repeatable).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the schema (default: standard output).",
)
@click.pass_context
def schema_export(
    context: click.Context,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    page_types: tuple[str, ...],
    collections: tuple[str, ...],
    output: Path | None,
) -> None:
    """Infer page types' and collections' field kinds from their content (drafts too),
    as the emulator's --schema file takes them."""
    from ..content_schema import export_schema, schema_json

    if not page_types and not collections:
        fail_usage("name at least one --page-type or --collection")

    async def go() -> bytes:
        async with make_client(token, None, base_url) as butter:
            return schema_json(await export_schema(butter, page_types, collections))

    written = run(go(), verbose=context.obj["verbose"])
    if output is None:
        click.echo(written.decode(), nl=False)
    else:
        output.write_bytes(written)
        click.echo(f"schema of {len(page_types)} page type(s) and {len(collections)} "
                   f"collection(s) written to {output}", err=True)  # fmt: skip
