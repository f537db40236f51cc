"""Exports as `butter-async export` runs them: posts, the pages of a type, or a
collection's items streamed to JSON Lines, resumable, and told apart from a list that
changed meanwhile."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import orjson

from ..client import ButterClient
from ..errors import ConfigurationError
from ..pagination import AsyncPager, InvalidItem, item_identity
from .export_files import ExportCursor, open_output, write_locales, write_pages

ExportKind = Literal["pages", "posts", "collection"]


@attrs.define
class ExportSummary:
    """What an export wrote, and what it saw of a list that changed under it."""

    exported: int
    shifts: int
    """Times the list moved under the walk and the walk found its place again."""
    count_before: int | None
    count_after: int | None
    invalid: list[InvalidItem]
    """Items that did not fit their model: not written."""

    @property
    def count_changed(self) -> bool:
        """Whether the list held another number of items at the end than at the start."""
        before, after = self.count_before, self.count_after
        return before is not None and after is not None and before != after


class ExportJob:
    """One export: `kind` "posts", or "pages"/"collection" with `name` the page type or
    collection key. `output` None writes to standard output; `resume` continues an
    interrupted export from its cursor file; `locales` writes each item once with its
    fields keyed by locale. Invalid arguments raise ConfigurationError."""

    def __init__(
        self,
        kind: ExportKind,
        name: str | None = None,
        *,
        output: Path | None = None,
        preview: bool = False,
        locale: str | None = None,
        locales: Sequence[str] = (),
        filters: dict[str, str] | None = None,
        resume: bool = False,
    ) -> None:
        if kind != "posts" and not name:
            what = "page type" if kind == "pages" else "collection key"
            raise ConfigurationError(f"export {kind} needs the {what}")
        if resume and output is None:
            raise ConfigurationError("--resume needs --output")
        if kind == "posts" and (filters or locale or locales):
            raise ConfigurationError("posts take neither --fields nor --locale")
        if locales and (locale or resume):
            raise ConfigurationError("--locales goes with neither --locale nor --resume")
        self.kind = kind
        self.name = name
        self.output = output
        self.preview = preview
        self.locale = locale
        self.locales = list(locales)
        self.filters = filters or {}
        self.resume = resume

    async def run(self, butter: ButterClient) -> ExportSummary:
        """Write the export; the list's size is read fresh before and after the walk."""
        invalid: list[InvalidItem] = []
        walks: list[AsyncPager[Any]] = []
        before = await self.count(butter)
        if self.locales:
            exported = await self._write_locales(butter, walks, invalid)
        else:
            exported = await self._write(butter, walks, invalid)
        after = await self.count(butter)
        shifts = sum(pager.shifts for pager in walks)
        return ExportSummary(exported, shifts, before, after, invalid)

    def pager(self, butter: ButterClient, locale: str | None, **options: Any) -> AsyncPager[Any]:
        """The walk over the exported list, in `locale`."""
        if self.kind == "posts":
            return butter.posts.list(preview=self.preview, **options)
        assert self.name is not None
        lister = butter.pages.list if self.kind == "pages" else butter.collections.list
        return lister(
            self.name, preview=self.preview, locale=locale, fields=self.filters, **options
        )

    async def count(self, butter: ButterClient) -> int | None:
        """How many items the exported list holds now (`meta.count`)."""
        raw = {"raw": True} if self.kind == "posts" else {}
        pages = self.pager(butter, self.locale, page_size=1, **raw).pages()
        async with contextlib.aclosing(pages):
            async for page in pages:
                return page.meta.count
        return None

    async def _write(
        self, butter: ButterClient, walks: list[AsyncPager[Any]], invalid: list[InvalidItem]
    ) -> int:
        cursor_file = ExportCursor(self.output) if self.output else None
        start = cursor_file.load() if self.resume and cursor_file else None
        pager = self.pager(
            butter,
            self.locale,
            resume_from=start and start[0],
            on_invalid_item=invalid.append,
        )
        walks.append(pager)
        status_of = await self.published_status(butter, self.locale)
        with open_output(self.output, start[1] if start else None) as sink:
            return await write_pages(pager, sink, cursor_file, status_of)

    async def _write_locales(
        self, butter: ButterClient, walks: list[AsyncPager[Any]], invalid: list[InvalidItem]
    ) -> int:
        status_of = await self.published_status(butter, self.locales[0])
        pagers = [
            (code, self.pager(butter, code, on_invalid_item=invalid.append))
            for code in self.locales
        ]
        walks.extend(pager for _, pager in pagers)
        with open_output(self.output, None) as sink:
            return await write_locales(pagers, sink, item_identity, status_of)

    async def published_status(
        self, butter: ButterClient, locale: str | None
    ) -> Callable[[Any], str] | None:
        """How an exported page or item gets its status, which the read API does not show.

        Without `preview` only published content is read. With it, what a read without
        preview also returns is published and the rest is a draft (one more walk).
        """
        if self.kind == "posts" or self.name is None:
            return None  # posts carry their status
        if not self.preview:
            return lambda _item: "published"
        published: set[object] = set()
        if self.kind == "pages":
            async for page in butter.pages.list(self.name, locale=locale, fields=self.filters):
                published.add(page.slug)
            return lambda page: "published" if page.slug in published else "draft"
        async for item in butter.collections.list(self.name, locale=locale, fields=self.filters):
            published.add(item.id)
        return lambda item: "published" if item.id in published else "draft"


def write_invalid(invalid: list[InvalidItem], output: Path | None) -> Path:
    """Append the items that did not fit to `OUTPUT.invalid.jsonl` (each with its error);
    the file written."""
    base = output or Path("export")
    target = base.with_name(base.name + ".invalid.jsonl")
    with target.open("ab") as sink:
        for item in invalid:
            sink.write(orjson.dumps({"error": str(item.error), "item": item.raw}) + b"\n")
    return target
