"""`butter-async export`: the export job, its findings told on standard error."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigurationError
from ..jobs.export import ExportJob, ExportKind, ExportSummary, write_invalid
from .common import connection_options, fail_usage, main, make_client, run

#: Invalid items an export names before it says how many there were.
SHOWN_INVALID_ITEMS = 5


def parse_filters(values: tuple[str, ...]) -> dict[str, str]:
    """`k=v` pairs into a filter mapping."""
    filters = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key:
            fail_usage(f"--fields expects key=value, got {value!r}")
        filters[key] = wanted
    return filters


@main.command()
@connection_options
@click.argument("kind", type=click.Choice(["pages", "posts", "collection"]))
@click.argument("name", required=False)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--preview", is_flag=True, help="Include drafts.")
@click.option("--locale", default=None, help="Locale of pages or items.")
@click.option(
    "--locales",
    default=None,
    metavar="LIST",
    help="Every locale of pages or items (e.g. en,fr): one line each, fields keyed by "
    "locale, as import takes them back.",
)
@click.option(
    "--fields",
    "field_filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Filter on a field (pages and collections); repeatable.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted export to --output.")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Write items that do not fit the model to OUTPUT.invalid.jsonl and go on.",
)
@click.pass_context
def export(
    context: click.Context,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    kind: ExportKind,
    name: str | None,
    output: Path | None,
    preview: bool,
    locale: str | None,
    locales: str | None,
    field_filters: tuple[str, ...],
    resume: bool,
    skip_invalid: bool,
) -> None:
    """Stream posts, the pages of type NAME, or collection NAME to JSON Lines."""
    every_locale = [code.strip() for code in (locales or "").split(",") if code.strip()]
    try:
        job = ExportJob(
            kind,
            name,
            output=output,
            preview=preview,
            locale=locale,
            locales=every_locale,
            filters=parse_filters(field_filters),
            resume=resume,
        )
    except ConfigurationError as error:
        fail_usage(str(error))

    async def go() -> ExportSummary:
        async with make_client(token, write_token, base_url) as butter:
            return await job.run(butter)

    summary = run(go(), verbose=context.obj["verbose"])
    tell(summary, kind)
    if summary.invalid:
        if not skip_invalid:
            raise click.ClickException(
                f"{len(summary.invalid)} item(s) did not fit and were not exported (every "
                "other item was); --skip-invalid records them in OUTPUT.invalid.jsonl and "
                "exits 0"
            )
        target = write_invalid(summary.invalid, output)
        click.echo(f"{len(summary.invalid)} item(s) that did not fit written to {target}", err=True)


def tell(summary: ExportSummary, kind: str) -> None:
    """What the export did and saw, on standard error."""
    click.echo(f"exported {summary.exported} {kind if kind != 'collection' else 'items'}", err=True)
    if summary.shifts:
        click.echo(
            f"the list moved during the export: corrected {summary.shifts} shift(s), so every "
            "item there throughout was written once",
            err=True,
        )
    if summary.count_changed:
        before, after = summary.count_before or 0, summary.count_after or 0
        click.echo(
            f"the account changed during the export: {before} item(s) at the start, {after} "
            f"at the end ({after - before:+d}); items created or deleted meanwhile may or "
            "may not be in the file: run an incremental pass to catch up",
            err=True,
        )
    for item in summary.invalid[:SHOWN_INVALID_ITEMS]:
        click.echo(f"  {item.error}", err=True)
