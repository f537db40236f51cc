"""JSON Lines export files: items written page by page, with a cursor to resume from."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeGuard

import msgspec
import orjson

from ..errors import JsonLinesError, ResponseValidationError
from ..models.converter import converter
from ..pagination import AsyncPager, Cursor


class ExportCursor:
    """The sidecar file of an export: the next page and the output size consistent with it."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = output.with_name(output.name + ".cursor")

    def load(self) -> tuple[Cursor, int] | None:
        """The cursor and output size saved by an interrupted export. Raises JsonLinesError
        for a cursor that is damaged or does not match its output (the output is never
        extended to fit one)."""
        if not self.path.exists():
            return None
        try:
            saved = orjson.loads(self.path.read_bytes())
        except orjson.JSONDecodeError:
            saved = None
        page = saved.get("page") if isinstance(saved, dict) else None
        size = saved.get("size") if isinstance(saved, dict) else None
        if not (_count(page) and page >= 1 and _count(size)):
            raise self._refused("it is empty or damaged")
        if not self.output.exists():
            raise self._refused("the output file is missing")
        actual = self.output.stat().st_size
        if size > actual:
            raise self._refused(f"it records {size:,} bytes of output, the file holds {actual:,}")
        if size > 0:
            with self.output.open("rb") as output:
                output.seek(size - 1)
                if output.read(1) != b"\n":
                    raise self._refused(f"byte {size:,} of the output does not end a line")
        return Cursor(page=page), size

    def _refused(self, why: str) -> JsonLinesError:
        return JsonLinesError(
            f"the export cursor {self.path} does not match {self.output}: {why}. Delete the "
            "cursor to export from the start, or restore the output it was saved with."
        )

    def save(self, next_page: int, size: int) -> None:
        """Record that the output holds every item before `next_page` in `size` bytes."""
        self.path.write_bytes(orjson.dumps({"page": next_page, "size": size}))

    def clear(self) -> None:
        """Remove the cursor once the export is complete."""
        self.path.unlink(missing_ok=True)


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@contextlib.contextmanager
def open_output(output: Path | None, size: int | None) -> Iterator[IO[bytes]]:
    """The export sink; a resumed file is cut back to its last consistent size."""
    if output is None:
        yield sys.stdout.buffer
        return
    with output.open("r+b" if size is not None and output.exists() else "wb") as sink:
        if size is not None:
            sink.truncate(size)
            sink.seek(size)
        yield sink


async def write_pages(
    pager: AsyncPager[Any],
    sink: IO[bytes],
    cursor_file: ExportCursor | None,
    status_of: Callable[[Any], str] | None = None,
) -> int:
    """Write each item as a JSON line, saving a resume cursor after every page.

    `status_of` gives each line its `status` (the read API shows none for pages and
    collection items).
    """
    count = 0
    async for page in pager.pages():
        rows = [converter.unstructure(item) for item in page.items]
        if status_of is not None:
            for item, row in zip(page.items, rows, strict=True):
                row["status"] = status_of(item)
        lines = b"".join(map(json_line, rows))
        sink.write(lines)
        sink.flush()
        count += len(page.items)
        if cursor_file is not None:
            cursor_file.save(page.position + 1, sink.tell())
    if cursor_file is not None:
        cursor_file.clear()
    return count


async def write_locales(
    pagers: list[tuple[str, AsyncPager[Any]]],
    sink: IO[bytes],
    identity: Callable[[Any], object],
    status_of: Callable[[Any], str] | None = None,
) -> int:
    """Write each item once with its fields keyed by locale, walking every locale in step.

    The read API answers one locale per request; lines written this way import back into
    every locale at once (the Write API takes locale-keyed `fields`).
    """
    count = 0
    async with contextlib.AsyncExitStack() as stack:
        walks = [
            (locale, await stack.enter_async_context(contextlib.aclosing(_items(pager))))
            for locale, pager in pagers
        ]
        while True:
            items = [(locale, await anext(walk, None)) for locale, walk in walks]
            present = [item for _, item in items if item is not None]
            if not present:
                return count
            first = items[0][1]
            if (
                first is None
                or len(present) != len(items)
                or any(identity(item) != identity(first) for item in present)
            ):
                raise ResponseValidationError(
                    f"the locales {', '.join(locale for locale, _ in items)} list other items "
                    f"at item {count + 1}: they cannot be written as one line"
                )
            row = converter.unstructure(first)
            row["fields"] = {
                locale: converter.unstructure(item)["fields"] for locale, item in items
            }
            if status_of is not None:
                row["status"] = status_of(first)
            sink.write(json_line(row))
            count += 1


def json_line(row: Any) -> bytes:
    """One line of an export file. An integer beyond 64 bits (which orjson cannot write)
    is written exactly, never as a float."""
    try:
        return orjson.dumps(row) + b"\n"
    except TypeError:
        return msgspec.json.encode(row) + b"\n"


async def _items(pager: AsyncPager[Any]) -> AsyncGenerator[Any, None]:
    async for item in pager:
        yield item
