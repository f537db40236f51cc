"""A rich progress bar fed by the bulk writer's progress snapshots."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..bulk import BulkProgress


@contextlib.contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[BulkProgress], None]]:
    """A progress bar on stderr; the yielded function takes BulkWriter snapshots."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "{task.completed} done, {task.fields[failed]} failed{task.fields[not_sent]}, "
            "{task.fields[rate]}/s"
        ),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task(label, total=total, failed=0, not_sent="", rate="0")

    def update(snapshot: BulkProgress) -> None:
        not_sent = f", {snapshot.not_sent} not sent" if snapshot.not_sent else ""
        progress.update(
            task,
            completed=snapshot.done,
            failed=snapshot.failed,
            not_sent=not_sent,
            rate=f"{snapshot.rate:,.0f}",
        )

    with progress:
        yield update
