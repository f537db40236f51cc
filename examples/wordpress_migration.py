"""Migrate a WordPress-style JSON export into ButterCMS blog posts through the bulk writer.

`python examples/wordpress_migration.py export.json` with BUTTER_READ_TOKEN and
BUTTER_WRITE_TOKEN set; without a file or tokens it migrates a generated export into the
embedded emulator. Re-running with the same journal resumes without duplicates.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from butter_async import BulkReport, ButterClient, CreatePost


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def wordpress_posts(export: list[dict[str, Any]], author_email: str) -> Iterator[CreatePost]:
    """WordPress export rows (post_title, post_name, post_content...) as create operations."""
    for row in export:
        if row.get("post_type", "post") != "post":
            continue
        title = row.get("post_title") or "Untitled"
        yield CreatePost(
            slug=row.get("post_name") or slugify(title),
            title=title,
            fields={
                "body": row.get("post_content", ""),
                "summary": row.get("post_excerpt", ""),
                "status": "published" if row.get("post_status") == "publish" else "draft",
                "published": row.get("post_date_gmt") or None,
                "author_email": row.get("author_email") or author_email,
                "categories": row.get("categories", []),
                "tags": row.get("tags", []),
            },
        )


async def migrate(
    butter: ButterClient, export: list[dict[str, Any]], *, author_email: str, journal: Path
) -> BulkReport:
    """Run the migration; the journal makes it resumable."""
    return await butter.bulk_run(
        wordpress_posts(export, author_email),
        concurrency=16,
        journal=journal,
        keep_results=False,
    )


def sample_export(count: int) -> list[dict[str, Any]]:
    return [
        {
            "post_title": f"Hello from WordPress {i}",
            "post_name": f"wp-hello-{i}",
            "post_content": f"<p>Imported body {i}</p>",
            "post_excerpt": f"Excerpt {i}",
            "post_status": "publish" if i % 4 else "draft",
            "post_type": "post",
            "post_date_gmt": f"2023-03-{1 + i % 28:02d}T10:00:00Z",
            "categories": ["WordPress"],
            "tags": ["imported", f"batch-{i % 3}"],
        }
        for i in range(count)
    ] + [{"post_title": "About us", "post_type": "page"}]


async def main(export: list[dict[str, Any]] | None) -> None:
    """Migrate `export` into the account in the environment, or a sample into the emulator."""
    journal = Path("wordpress-migration.journal.jsonl")
    if export is not None:
        async with ButterClient(
            os.environ["BUTTER_READ_TOKEN"], os.environ["BUTTER_WRITE_TOKEN"]
        ) as butter:
            report = await migrate(
                butter, export, author_email=os.environ["AUTHOR_EMAIL"], journal=journal
            )
    else:
        from butter_async.testing import Emulator

        async with Emulator() as emu, emu.client() as butter:
            report = await migrate(
                butter,
                sample_export(200),
                author_email="sdktests@buttercms.com",
                journal=journal,
            )
    print(dict(report.counts), f"{report.throughput:,.0f} posts/s")
    for failure in report.failures[:10]:
        print(f"  {failure.key}: {failure.detail}")


if __name__ == "__main__":
    given = len(sys.argv) > 1 and os.environ.get("BUTTER_WRITE_TOKEN")
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text()) if given else None))
