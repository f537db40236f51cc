"""The `butter-async` command line: demo, export, import and emulator."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click
import orjson

from .bulk import BulkReport
from .client import ButterClient
from .errors import ButterError, JsonLinesError, NotFoundError
from .export import ExportCursor, open_output, write_locales, write_pages
from .jsonl import ImportKind, json_lines, json_object, operation_from_line
from .operations import CreateItem, CreatePage, CreatePost, Operation
from .pagination import AsyncPager, InvalidItem, item_identity
from .progress import progress_bar
from .transport import DEFAULT_CONNECTOR_LIMIT

T = TypeVar("T")
ENV_READ = "BUTTER_READ_TOKEN"
ENV_WRITE = "BUTTER_WRITE_TOKEN"
ENV_BASE = "BUTTER_BASE_URL"


def run(coroutine: Awaitable[T], *, verbose: bool) -> T:
    """Run a command's coroutine; SDK and input errors become one-line messages."""
    try:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    except (ButterError, JsonLinesError, OSError) as error:
        if verbose:
            raise
        raise click.ClickException(str(error)) from None


def fail_usage(message: str) -> None:
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


# -- demo ----------------------------------------------------------------------------


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
    from .demo import run_demo

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


# -- export --------------------------------------------------------------------------


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
    kind: str,
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
    if kind != "posts" and not name:
        fail_usage(
            f"export {kind} needs the {'page type' if kind == 'pages' else 'collection key'}"
        )
    if resume and output is None:
        fail_usage("--resume needs --output")
    filters = parse_filters(field_filters)
    if kind == "posts" and (filters or locale or locales):
        fail_usage("posts take neither --fields nor --locale")
    every_locale = [code.strip() for code in (locales or "").split(",") if code.strip()]
    if every_locale and (locale or resume):
        fail_usage("--locales goes with neither --locale nor --resume")

    invalid: list[InvalidItem] = []

    walks: list[AsyncPager[Any]] = []
    counts: list[int | None] = []

    async def go() -> int:
        exported = await walk()
        async with make_client(token, write_token, base_url) as butter:
            counts.append(await list_count(butter, kind, name, preview, locale, filters))
        return exported

    async def walk() -> int:
        cursor_file = ExportCursor(output) if output else None
        start = cursor_file.load() if resume and cursor_file else None
        async with make_client(token, write_token, base_url) as butter:
            counts.append(await list_count(butter, kind, name, preview, locale, filters))
            if every_locale:
                assert name is not None
                status_of = await published_status(
                    butter, kind, name, preview, every_locale[0], filters
                )
                pagers: list[tuple[str, AsyncPager[Any]]] = [
                    (
                        code,
                        (butter.pages.list if kind == "pages" else butter.collections.list)(
                            name,
                            preview=preview,
                            locale=code,
                            fields=filters,
                            on_invalid_item=invalid.append,
                        ),
                    )
                    for code in every_locale
                ]
                walks.extend(pager for _, pager in pagers)
                with open_output(output, None) as sink:
                    return await write_locales(pagers, sink, item_identity, status_of)
            pager: AsyncPager[Any]
            if kind == "posts":
                pager = butter.posts.list(
                    preview=preview,
                    resume_from=start and start[0],
                    on_invalid_item=invalid.append,
                )
            elif kind == "pages":
                assert name is not None
                pager = butter.pages.list(
                    name,
                    preview=preview,
                    locale=locale,
                    fields=filters,
                    resume_from=start and start[0],
                    on_invalid_item=invalid.append,
                )
            else:
                assert name is not None
                pager = butter.collections.list(
                    name,
                    preview=preview,
                    locale=locale,
                    fields=filters,
                    resume_from=start and start[0],
                    on_invalid_item=invalid.append,
                )
            walks.append(pager)
            status_of = await published_status(butter, kind, name, preview, locale, filters)
            with open_output(output, start[1] if start else None) as sink:
                return await write_pages(pager, sink, cursor_file, status_of)

    count = run(go(), verbose=context.obj["verbose"])
    click.echo(f"exported {count} {kind if kind != 'collection' else 'items'}", err=True)
    shifts = sum(pager.shifts for pager in walks)
    if shifts:
        click.echo(
            f"the list moved during the export: corrected {shifts} shift(s), so every item "
            "there throughout was written once",
            err=True,
        )
    before, after = counts
    if before is not None and after is not None and before != after:
        click.echo(
            f"the account changed during the export: {before} item(s) at the start, {after} "
            f"at the end ({after - before:+d}); items created or deleted meanwhile may or "
            "may not be in the file: run an incremental pass to catch up",
            err=True,
        )
    if invalid:
        for item in invalid[:5]:
            click.echo(f"  {item.error}", err=True)
        if not skip_invalid:
            raise click.ClickException(
                f"{len(invalid)} item(s) did not fit and were not exported (every other item "
                "was); --skip-invalid records them in OUTPUT.invalid.jsonl and exits 0"
            )
        target = (output or Path("export")).with_name(
            (output or Path("export")).name + ".invalid.jsonl"
        )
        with target.open("ab") as sink:
            for item in invalid:
                sink.write(orjson.dumps({"error": str(item.error), "item": item.raw}) + b"\n")
        click.echo(f"{len(invalid)} item(s) that did not fit written to {target}", err=True)


async def list_count(
    butter: ButterClient,
    kind: str,
    name: str | None,
    preview: bool,
    locale: str | None,
    filters: dict[str, str],
) -> int | None:
    """How many items the exported list holds now (`meta.count`, read fresh)."""
    pager: AsyncPager[Any]
    if kind == "posts":
        pager = butter.posts.list(preview=preview, page_size=1, raw=True)
    elif kind == "pages":
        assert name is not None
        pager = butter.pages.list(
            name, preview=preview, locale=locale, fields=filters, page_size=1
        )
    else:
        assert name is not None
        pager = butter.collections.list(
            name, preview=preview, locale=locale, fields=filters, page_size=1
        )
    async with contextlib.aclosing(pager.pages()) as pages:
        async for page in pages:
            return page.meta.count
    return None


# -- import --------------------------------------------------------------------------


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
) -> None:
    """Bulk-import JSON Lines of pages, posts or collection items."""
    if kind == "collection" and not collection_key:
        fail_usage("import collection needs --collection KEY")
    if match_on is not None and kind != "collection":
        fail_usage("--match-on is for collection imports (pages and posts match on slug)")
    defaults = {
        "page_type": page_type,
        "collection": collection_key,
        "status": status,
        "match_on": match_on,
    }
    invalid_file = source.with_name(source.name + ".invalid.jsonl")
    try:
        needs = validate_file(source, kind, defaults, invalid_file if skip_invalid else None)
    except JsonLinesError as error:
        fail_usage(str(error))
    if needs.invalid:
        click.echo(f"{len(needs.invalid)} invalid line(s) written to {invalid_file}", err=True)
    if dry_run:
        if token:

            async def check() -> None:
                async with make_client(token, None, base_url) as butter:
                    await check_target(butter, source, needs, authors=True)

            run(check(), verbose=context.obj["verbose"])
            click.echo(
                f"{source}: every line is valid, and the target has what they need", err=True
            )
        else:
            click.echo(
                f"{source}: every line is valid (no token: the target was not checked)", err=True
            )
        return
    if not write_token:
        fail_usage(f"import needs a write token: --write-token or ${ENV_WRITE}")
    failed_file = failed_path or source.with_name(source.name + ".failed.jsonl")
    journal = journal or source.with_name(source.name + ".journal")
    interrupted: list[str] = []

    async def go() -> BulkReport:
        # The checks below make the session, so its pool is sized for the job up front.
        pool = max(DEFAULT_CONNECTOR_LIMIT, concurrency)
        async with make_client(token, write_token, base_url, connector_limit=pool) as butter:
            # What --dry-run checks, before the first write: a missing author, page type
            # or collection is one line, not a failure per input.
            await check_target(butter, source, needs, authors=True)
            # A resume needs no guard: the journal knows which items this job created.
            resuming = journal.exists() and journal.stat().st_size > 0
            if kind == "collection" and match_on is None and not allow_duplicates and not resuming:
                await refuse_duplicates(butter, collection_key or "")
            with progress_bar("importing") as update:
                writer = butter.bulk(
                    concurrency=concurrency,
                    rate_limit=rate_limit,
                    journal=journal,
                    journal_override=force_journal,
                    job_id=f"import {kind} of {file_digest(source)}",
                    progress=update,
                )
                ops = operations(source, kind, defaults, needs.invalid)
                job = asyncio.ensure_future(writer.run(ops, keep_results=False))
                with stopped_by_signals(job, interrupted):
                    try:
                        report = await job
                    except asyncio.CancelledError:
                        if not interrupted:
                            raise
                        report = writer.report  # complete: the job accounted for every input
        write_failures(report, source, failed_file, needs.invalid)
        return report

    report = run(go(), verbose=context.obj["verbose"])
    click.echo(describe(report, failed_file))
    if interrupted:
        click.echo(
            f"interrupted by {interrupted[0]}: the journal {journal} holds what was done; "
            f"resume with:\n  {resume_command(sys.argv)}",
            err=True,
        )
        context.exit(130)
    if not report.ok:
        context.exit(1)
    if needs.invalid:
        context.exit(EXIT_SKIPPED_INVALID)


async def published_status(
    butter: ButterClient,
    kind: str,
    name: str | None,
    preview: bool,
    locale: str | None,
    filters: dict[str, str],
) -> Callable[[Any], str] | None:
    """How an exported page or item gets its status, which the read API does not show.

    Without --preview only published content is read. With it, what a read without
    preview also returns is published and the rest is a draft (one more walk).
    """
    if kind == "posts" or name is None:
        return None  # posts carry their status
    if not preview:
        return lambda _item: "published"
    published: set[object] = set()
    if kind == "pages":
        async for page in butter.pages.list(name, locale=locale, fields=filters):
            published.add(page.slug)
        return lambda page: "published" if page.slug in published else "draft"
    async for item in butter.collections.list(name, locale=locale, fields=filters):
        published.add(item.id)
    return lambda item: "published" if item.id in published else "draft"


@attrs.define
class ImportNeeds:
    """What a valid import file needs of its target, and the lines left out as invalid."""

    page_types: set[str] = attrs.field(factory=set)
    collections: set[str] = attrs.field(factory=set)
    authors: set[str] = attrs.field(factory=set)
    invalid: set[int] = attrs.field(factory=set)


#: How many invalid lines an import names before it says how many more there are.
SHOWN_INVALID_LINES = 20
#: The exit code of an import that finished but left out lines as invalid (--skip-invalid).
EXIT_SKIPPED_INVALID = 3


def validate_file(
    source: Path,
    kind: ImportKind,
    defaults: dict[str, str | None],
    invalid_file: Path | None = None,
) -> ImportNeeds:
    """Check every line before anything is sent (`FILE:LINE: field: problem`): each must be
    a JSON object that makes a valid operation, and no two may write the same content.

    Raises JsonLinesError naming every invalid line (up to `SHOWN_INVALID_LINES`); with
    `invalid_file`, bad lines go there (with their error) instead, and are left out.
    """
    needs = ImportNeeds()
    problems: dict[int, str] = {}
    first_line_of: dict[str, int] = {}
    for number, line in json_lines(source):
        if isinstance(line, JsonLinesError):
            problems[number] = str(line)
            continue
        try:
            operation = operation_from_line(kind, line, defaults, number)
            operation.validate()
        except (JsonLinesError, ValueError) as error:
            problems[number] = f"{source}:{number}: {error}"
            continue
        earlier = first_line_of.setdefault(operation.key, number)
        if earlier != number:
            what = "slug" if kind != "collection" else "item"
            problems[number] = f"{source}:{number}: {what}: also on line {earlier}"
            problems.setdefault(earlier, f"{source}:{earlier}: {what}: also on line {number}")
            continue
        _note_needs(needs, operation)
    if invalid_file is None:
        if problems:
            raise JsonLinesError(_listed(problems))
        return needs
    needs.invalid = set(problems)
    if problems:
        _write_rejects(source, invalid_file, problems)
    else:
        invalid_file.unlink(missing_ok=True)
    return needs


def _note_needs(needs: ImportNeeds, operation: Operation) -> None:
    if isinstance(operation, CreatePage):
        needs.page_types.add(operation.page_type)
    elif isinstance(operation, CreateItem):
        needs.collections.add(operation.collection)
    elif isinstance(operation, CreatePost):
        author = operation.fields.get("author_slug") or operation.fields.get("author_email")
        if author:
            needs.authors.add(author)


def _listed(problems: dict[int, str]) -> str:
    """Every problem, in line order, up to `SHOWN_INVALID_LINES`, then how many more."""
    ordered = [problems[number] for number in sorted(problems)]
    shown = ordered[:SHOWN_INVALID_LINES]
    if len(ordered) > len(shown):
        shown.append(f"... and {len(ordered) - len(shown)} more invalid line(s)")
    return "\n".join(shown)


def _write_rejects(source: Path, invalid_file: Path, problems: dict[int, str]) -> None:
    """`SOURCE.invalid.jsonl`: each left-out line with its error, and the item (or, for a
    line that is no JSON object, its text), read again from the file."""
    with source.open("rb") as lines, invalid_file.open("wb") as sink:
        for number, raw in enumerate(lines, start=1):
            if number not in problems:
                continue
            entry: dict[str, object] = {"line": number, "error": problems[number]}
            try:
                entry["item"] = json_object(raw)
            except JsonLinesError:
                entry["text"] = raw.decode("utf-8", "replace").rstrip("\r\n")
            sink.write(orjson.dumps(entry) + b"\n")


async def check_target(
    butter: ButterClient, source: Path, needs: ImportNeeds, *, authors: bool
) -> None:
    """Refuse (exit 2) a file naming page types or collections (and with `authors`,
    authors) that the target lacks."""
    for name in sorted(needs.page_types):
        try:
            await butter.pages.list(name, page_size=1, preview=True).first()
        except NotFoundError:
            fail_usage(f"{source}: the target has no page type {name!r}")
    for key in sorted(needs.collections):
        try:
            await butter.collections.list(key, page_size=1, preview=True).first()
        except NotFoundError:
            fail_usage(f"{source}: the target has no collection {key!r}")
    if authors and needs.authors:
        known: set[str] = set()
        for author in await butter.authors.list():
            known.update(filter(None, (author.slug, author.email)))
        missing = sorted(needs.authors - known)
        if missing:
            fail_usage(f"{source}: the target has no author {', '.join(map(repr, missing))}")


async def refuse_duplicates(butter: ButterClient, key: str) -> None:
    """Refuse (exit 2) to import items without --match-on into a collection with items."""
    pages = butter.collections.list(key, page_size=1, preview=True).pages()
    async with contextlib.aclosing(pages):
        first = await anext(pages)
    if first.meta.count:
        fail_usage(
            f"collection {key!r} already has {first.meta.count} item(s) and items have no "
            "slug: importing again would duplicate them. Give --match-on FIELD (a field that "
            "identifies an item, such as a SKU), or --allow-duplicates."
        )


def valid_lines(source: Path, invalid: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of the lines that passed validation."""
    for number, line in json_lines(source):
        if number not in invalid and not isinstance(line, JsonLinesError):
            yield number, line


def operations(
    source: Path, kind: ImportKind, defaults: dict[str, str | None], invalid: set[int]
) -> Iterator[Operation]:
    """The file's valid lines as operations, read lazily."""
    for number, line in valid_lines(source, invalid):
        yield operation_from_line(kind, line, defaults, number)


def write_failures(report: BulkReport, source: Path, failed_file: Path, invalid: set[int]) -> None:
    """Copy the lines that failed, so the file can be fed back to `import`. Lines not
    attempted or interrupted are not copied: the journal holds them for the resume."""
    unfinished = {result.index for result in report.failures if result.outcome == "failed"}
    if not unfinished:
        failed_file.unlink(missing_ok=True)
        return
    with failed_file.open("wb") as sink:
        for index, (_, line) in enumerate(valid_lines(source, invalid)):
            if index in unfinished:
                sink.write(orjson.dumps(line) + b"\n")


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks (names the input in the journal)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()[:16]}"


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


_SECRET_OPTIONS = {"--token": "$" + ENV_READ, "--write-token": "$" + ENV_WRITE}


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


def describe(report: BulkReport, failed_file: Path) -> str:
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
    if report.failures:
        lines.append(f"failed lines written to {failed_file}")
    return "\n".join(lines)


# -- schema --------------------------------------------------------------------------


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
    from .content_schema import export_schema, schema_json

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


# -- emulator ------------------------------------------------------------------------


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def emulator(context: click.Context) -> None:
    """Serve the local ButterCMS emulator until interrupted (see `emulator --help`)."""
    from .testing.command import main as serve_emulator

    serve_emulator(list(context.args), prog="butter-async emulator")
