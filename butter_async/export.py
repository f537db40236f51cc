"""JSON Lines export files: items written page by page, with a cursor to resume from."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from .models.converter import converter
from .pagination import AsyncPager, Cursor


class ExportCursor:
    """The sidecar file of an export: the next page and the output size consistent with it."""

    def __init__(self, output: Path) -> None:
        self.path = output.with_name(output.name + ".cursor")

    def load(self) -> tuple[Cursor, int] | None:
        """The cursor and output size saved by an interrupted export."""
        if not self.path.exists():
            return None
        saved = orjson.loads(self.path.read_bytes())
        return Cursor(page=saved["page"]), int(saved["size"])

    def save(self, next_page: int, size: int) -> None:
        """Record that the output holds every item before `next_page` in `size` bytes."""
        self.path.write_bytes(orjson.dumps({"page": next_page, "size": size}))

    def clear(self) -> None:
        """Remove the cursor once the export is complete."""
        self.path.unlink(missing_ok=True)


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
        lines = b"".join(orjson.dumps(row) + b"\n" for row in rows)
        sink.write(lines)
        sink.flush()
        count += len(page.items)
        if cursor_file is not None:
            cursor_file.save(page.position + 1, sink.tell())
    if cursor_file is not None:
        cursor_file.clear()
    return count
