"""JSON Lines imports as `butter-async import` runs them: every line validated before the
first write, the target checked, then a journaled bulk job; failed lines copied out."""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from ..bulk import BulkProgress, BulkReport, BulkWriter
from ..bulk.options import DEFAULT_MAX_IDENTICAL_FAILURES
from ..bulk.shared_pace import RedisPace
from ..client import ButterClient
from ..errors import ConfigurationError, ImportTargetError, JsonLinesError, NotFoundError
from ..operations import CreateItem, CreatePage, CreatePost, Operation
from .jsonl import ImportKind, json_lines, json_object, operation_from_line
from .shards import Shard


@attrs.define
class ImportNeeds:
    """What a valid import file needs of its target, and the lines left out as invalid."""

    page_types: set[str] = attrs.field(factory=set)
    collections: set[str] = attrs.field(factory=set)
    authors: set[str] = attrs.field(factory=set)
    invalid: set[int] = attrs.field(factory=set)


#: How many invalid lines an import names before it says how many more there are.
SHOWN_INVALID_LINES = 20


def check_lines(
    source: Path, kind: ImportKind, defaults: dict[str, str | None]
) -> tuple[ImportNeeds, dict[int, str]]:
    """Check every line before anything is sent: each must be a JSON object that makes a
    valid operation, and no two may write the same content. Returns what the valid lines
    need of the target, and each invalid line's number with its problem
    (`FILE:LINE: field: problem`)."""
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
    needs.invalid = set(problems)
    return needs, problems


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
    """Raise ImportTargetError if the file names page types or collections (and with
    `authors`, authors) that the target lacks."""
    for name in sorted(needs.page_types):
        try:
            await butter.pages.list(name, page_size=1, preview=True).first()
        except NotFoundError:
            raise ImportTargetError(f"{source}: the target has no page type {name!r}") from None
    for key in sorted(needs.collections):
        try:
            await butter.collections.list(key, page_size=1, preview=True).first()
        except NotFoundError:
            raise ImportTargetError(f"{source}: the target has no collection {key!r}") from None
    if authors and needs.authors:
        known: set[str] = set()
        for author in await butter.authors.list():
            known.update(filter(None, (author.slug, author.email)))
        missing = sorted(needs.authors - known)
        if missing:
            names = ", ".join(map(repr, missing))
            raise ImportTargetError(f"{source}: the target has no author {names}")


async def refuse_duplicates(butter: ButterClient, key: str) -> None:
    """Raise ImportTargetError rather than import items with no `match_on` into a
    collection that has items (items have no slug: they would be duplicated)."""
    pages = butter.collections.list(key, page_size=1, preview=True).pages()
    async with contextlib.aclosing(pages):
        first = await anext(pages)
    if first.meta.count:
        raise ImportTargetError(
            f"collection {key!r} already has {first.meta.count} item(s) and items have no "
            "slug: importing again would duplicate them. Give --match-on FIELD (a field that "
            "identifies an item, such as a SKU), or --allow-duplicates."
        )


def valid_lines(source: Path, invalid: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of the lines that passed validation."""
    for number, line in json_lines(source):
        if number not in invalid and not isinstance(line, JsonLinesError):
            yield number, line


def write_failures(
    report: BulkReport, lines: Iterable[tuple[int, dict[str, Any]]], failed_file: Path
) -> None:
    """Copy the lines that failed (`lines`: those the job was given, in order), so the
    file can be fed back to `import`. Lines not attempted or interrupted are not copied:
    the journal holds them for the resume."""
    unfinished = {result.index for result in report.failures if result.outcome == "failed"}
    if not unfinished:
        failed_file.unlink(missing_ok=True)
        return
    with failed_file.open("wb") as sink:
        for index, (_, line) in enumerate(lines):
            if index in unfinished:
                sink.write(orjson.dumps(line) + b"\n")


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks (names the input in the journal)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()[:16]}"


class ImportJob:
    """One import of a JSON Lines file: `validate()` reads every line before anything is
    sent, `run(butter)` checks the target and writes with a journal (default
    `SOURCE.journal`; run again with it to resume), and failed lines go to `failed_file`
    (default `SOURCE.failed.jsonl`) to be fed back. With `skip_invalid`, invalid lines go
    to `invalid_file` and the rest are imported. With `shard`, only the lines whose key
    falls in that shard are written, and the default files are named after it
    (`SOURCE.shard-2-of-4.journal`)."""

    def __init__(
        self,
        source: Path,
        kind: ImportKind,
        *,
        page_type: str | None = None,
        collection: str | None = None,
        status: str | None = None,
        match_on: str | None = None,
        allow_duplicates: bool = False,
        skip_invalid: bool = False,
        journal: Path | None = None,
        failed_file: Path | None = None,
        shard: Shard | None = None,
    ) -> None:
        if kind == "collection" and not collection:
            raise ConfigurationError("import collection needs --collection KEY")
        if match_on is not None and kind != "collection":
            raise ConfigurationError(
                "--match-on is for collection imports (pages and posts match on slug)"
            )
        self.source = source
        self.kind = kind
        self.defaults = {
            "page_type": page_type,
            "collection": collection,
            "status": status,
            "match_on": match_on,
        }
        self.allow_duplicates = allow_duplicates
        self.shard = shard
        part = f".{shard.name}" if shard is not None else ""
        self.invalid_file = source.with_name(source.name + ".invalid.jsonl")
        self.skip_invalid = skip_invalid
        self.journal = journal or source.with_name(f"{source.name}{part}.journal")
        self.failed_file = failed_file or source.with_name(f"{source.name}{part}.failed.jsonl")
        self.needs: ImportNeeds | None = None
        self.writer: BulkWriter | None = None

    @property
    def report(self) -> BulkReport:
        """The bulk job's report, complete (every input accounted for) even when the job
        was cancelled."""
        return self.writer.report if self.writer is not None else BulkReport()

    @functools.cached_property
    def digest(self) -> str:
        """The file's sha256, read once: it names the input in the journal and the queue."""
        return file_digest(self.source)

    @property
    def job_id(self) -> str:
        """What the journal records of this import: its kind and the file's digest."""
        return f"import {self.kind} of {self.digest}"

    def validate(self) -> ImportNeeds:
        """Check every line (JsonLinesError naming the invalid ones, unless `skip_invalid`)
        and say what the file needs of its target. A shard leaves the invalid file to the
        whole import, so that shards never write one file at once."""
        needs, problems = check_lines(self.source, self.kind, self.defaults)
        if problems and not self.skip_invalid:
            raise JsonLinesError(_listed(problems))
        if self.skip_invalid and self.shard is None:
            if problems:
                _write_rejects(self.source, self.invalid_file, problems)
            else:
                self.invalid_file.unlink(missing_ok=True)
        self.needs = needs
        return needs

    async def check(self, butter: ButterClient) -> ImportNeeds:
        """Validate if not done, then raise ImportTargetError if the target lacks a page
        type, collection or author the file names."""
        needs = self.needs or self.validate()
        await check_target(butter, self.source, needs, authors=True)
        return needs

    async def guard_collection(self, butter: ButterClient) -> None:
        """Refuse a collection import that would duplicate items (no `match_on`, items
        already there), unless duplicates are allowed or the journal shows a resume."""
        resuming = self.journal.exists() and self.journal.stat().st_size > 0
        guarded = self.defaults["match_on"] is None and not self.allow_duplicates
        if self.kind == "collection" and guarded and not resuming:
            await refuse_duplicates(butter, self.defaults["collection"] or "")

    async def run(
        self,
        butter: ButterClient,
        *,
        concurrency: int = 32,
        rate_limit: float | None = None,
        force_journal: bool = False,
        progress: Callable[[BulkProgress], None] | None = None,
        max_identical_failures: int | None = DEFAULT_MAX_IDENTICAL_FAILURES,
        shared_pace: RedisPace | None = None,
    ) -> BulkReport:
        """Check the target, then write every valid line; failed lines are copied to
        `failed_file` whether the job ends or is cancelled. With `shared_pace`, imports in
        other processes on the same account share one pace. A shard leaves the collection
        guard to the whole import: once one shard has written, the others would refuse."""
        await self.check(butter)
        if self.shard is None:
            await self.guard_collection(butter)
        self.writer = butter.bulk(
            concurrency=concurrency,
            rate_limit=rate_limit,
            journal=self.journal,
            journal_override=force_journal,
            job_id=self.job_id,
            progress=progress,
            max_identical_failures=max_identical_failures,
            shared_pace=shared_pace,
        )
        try:
            return await self.writer.run(self.operations(), keep_results=False)
        finally:
            write_failures(self.report, self.lines(), self.failed_file)

    def lines(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, object) of the valid lines this job writes (its shard's only)."""
        return ((number, line) for number, line, _ in self._entries())

    def operations(self) -> Iterator[Operation]:
        """The operations this job writes, read lazily."""
        return (operation for _, _, operation in self._entries())

    def _entries(self) -> Iterator[tuple[int, dict[str, Any], Operation]]:
        """Each valid line this job writes with its operation, made once."""
        invalid = self.needs.invalid if self.needs is not None else set()
        for number, line in valid_lines(self.source, invalid):
            operation = operation_from_line(self.kind, line, self.defaults, number)
            if self.shard is None or self.shard.holds(operation.key):
                yield number, line, operation
