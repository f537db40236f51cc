"""`butter-async types`: generate attrs classes from an account's content, and check the
content against them (a step for CI before a deploy)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigurationError
from ..typegen.changes import describe_changes
from ..typegen.drift import drifts, load_module
from ..typegen.emit import ContentType
from ..typegen.generate import GENERATED, module_text, read_content, types_from_schema
from .common import connection_options, fail_usage, main, make_client, run


@main.group(name="types")
def types_() -> None:
    """Typed content: generate classes from the content, check the content against them."""


@types_.command(name="generate")
@connection_options
@click.option("--page-type", "page_types", multiple=True, help="A page type ('*': single pages).")
@click.option("--collection", "collections", multiple=True, help="A collection key.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Single pages, and every page type and collection --schema names (ButterCMS has "
    "no endpoint that lists them).",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An emulator schema file (`schema export`): its types are read from the account, "
    "or, with no token, written from the kinds it declares.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The module to write; if it exists, what changed is printed.",
)
@click.pass_context
def generate(
    context: click.Context,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    page_types: tuple[str, ...],
    collections: tuple[str, ...],
    everything: bool,
    schema_file: Path | None,
    out: Path,
) -> None:
    """Write a module of frozen attrs classes for the named types, read from the content."""
    del write_token
    old = _generated_before(out)
    schema = _schema(schema_file) if schema_file else {}
    names = {"page_types": set(page_types), "collections": set(collections)}
    if everything:
        names["page_types"] |= {"*", *(schema.get("page_types") or {})}
        names["collections"] |= set(schema.get("collections") or {})
    if not names["page_types"] and not names["collections"]:
        fail_usage("name what to generate: --page-type, --collection or --all")
    if token:

        async def from_account() -> tuple[list[ContentType], str]:
            async with make_client(token, None, base_url) as butter:
                found = await read_content(butter, names["page_types"], names["collections"])
                return found, butter.account_fingerprint

        types, account = run(from_account(), verbose=context.obj["verbose"])
        text = module_text(types, account)
    elif schema:
        wanted: dict[str, object] = {
            section: {k: v for k, v in (schema.get(section) or {}).items() if k in names[section]}
            for section in ("page_types", "collections")
        }
        wanted["types"] = schema["types"]
        try:
            text = module_text(types_from_schema(wanted), None)
        except ValueError as error:  # a `types` section schema export did not write
            fail_usage(f"{schema_file}: {error}")
    else:
        fail_usage("a read token is required (--token or $BUTTER_READ_TOKEN), or --schema")
    _write_atomically(out, text)
    if old is None:
        click.echo(f"wrote {out}", err=True)
        return
    try:
        changes = describe_changes(old, text)
    except SyntaxError:
        click.echo(f"{out}: the module it replaced did not parse; no changes listed", err=True)
        return
    for line in changes:
        click.echo(line)
    click.echo(f"{out}: {len(changes)} change(s)" if changes else f"{out}: no changes", err=True)


@types_.command(name="check")
@connection_options
@click.argument("module", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def check(
    context: click.Context,
    token: str | None,
    write_token: str | None,
    base_url: str | None,
    module: Path,
) -> None:
    """Read every page and item of the module's types (drafts included) and print each
    place the content no longer fits its class; exit 1 if there is one."""
    del write_token
    try:
        generated = load_module(module)
    except ConfigurationError as error:
        fail_usage(str(error))
    except (SyntaxError, ImportError) as error:
        fail_usage(f"{module}: cannot be imported: {error}")

    async def go() -> int:
        found = 0
        async with make_client(token, None, base_url) as butter:
            async for line in drifts(generated, butter):
                found += 1
                click.echo(line)
        return found

    found = run(go(), verbose=context.obj["verbose"])
    if found:
        click.echo(f"{found} place(s) where the content does not fit {module}", err=True)
        context.exit(1)
    click.echo(f"every page and item fits {module}", err=True)


def _generated_before(out: Path) -> str | None:
    """The module `--out` names, if one is there; a usage error if something else is,
    which is never overwritten."""
    if not out.exists():
        return None
    try:
        text = out.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail_usage(f"{out}: cannot be read to be replaced ({error})")
    if GENERATED not in text.partition("\n\n")[0]:
        fail_usage(f"{out} exists and was not written by {GENERATED}: it is left as it is")
    return text


def _schema(path: Path) -> dict[str, Any]:
    """The schema file, checked as the emulator checks it (and its `types`)."""
    from ..testing.command import read_schema_file

    try:
        return read_schema_file(path)
    except ValueError as error:
        fail_usage(str(error))


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target and rename, so a reader never sees half a module."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as sink:
            sink.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
