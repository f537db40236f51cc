"""A journal is a job's record: one job at a time, a full disk or a damaged file stops the
job with a JournalError and never duplicates content or hangs."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from butter_async import (
    BulkReport,
    CreatePage,
    JournalError,
    JournalLockedError,
    RetryPolicy,
)
from butter_async.bulk.journal import JobDescription, Journal, read_journal
from butter_async.testing import Emulator, SeedSpec

from .conftest import recipe_fields

FAST = RetryPolicy(max_retries=6, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)
ROOT = Path(__file__).parent.parent


def creates(n: int) -> Iterator[CreatePage]:
    for i in range(n):
        yield CreatePage("recipe", f"job-{i:05d}", f"Job {i}", recipe_fields())


def job_pages(emu: Emulator) -> list[str]:
    return [slug for slug in emu.store.page_slugs() if slug.startswith("job-")]


def page_writes(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path == "pages/")


async def run_python(code: str, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """Run `code` in a fresh Python process while this loop (and its emulator) serves."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", textwrap.dedent(code), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# -- one job per journal ----------------------------------------------------------------


async def test_two_jobs_on_one_journal_at_once_create_each_item_once(tmp_path: Path) -> None:
    journal = tmp_path / "import.journal"
    async with Emulator(seed=SeedSpec(pages=1), latency=0.01) as emu, emu.client(retry=FAST) as b:
        results = await asyncio.gather(
            b.bulk_run(creates(300), journal=journal, concurrency=16),
            b.bulk_run(creates(300), journal=journal, concurrency=16),
            return_exceptions=True,
        )
    refused = [r for r in results if isinstance(r, JournalLockedError)]
    done = [r for r in results if isinstance(r, BulkReport)]
    assert len(refused) == 1 and len(done) == 1
    assert str(journal) in str(refused[0]) and f"pid {os.getpid()}" in str(refused[0])
    assert done[0].counts["created"] == 300
    assert sorted(job_pages(emu)) == sorted(f"job-{i:05d}" for i in range(300))
    assert page_writes(emu) == 300


HOLDER = """
import sys
from butter_async.bulk.journal import JobDescription, Journal
journal = Journal(sys.argv[1])
journal.open(JobDescription(target=sys.argv[2], account=sys.argv[3]))
print("holding", flush=True)
sys.stdin.read()
"""


async def test_a_journal_held_by_another_process_is_refused_until_it_dies(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "import.journal"
    async with Emulator(seed=SeedSpec(pages=1)) as emu, emu.client(retry=FAST) as butter:
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLDER, str(journal), str(butter.base_url),
            butter.account_fingerprint,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"holding"
        with pytest.raises(JournalLockedError) as refused:
            await butter.bulk_run(creates(20), journal=journal)
        assert f"pid {holder.pid} on host" in str(refused.value)
        assert str(journal) in str(refused.value)
        assert page_writes(emu) == 0  # refused before anything was sent
        holder.send_signal(signal.SIGKILL)  # a killed holder leaves no lock behind
        await holder.wait()
        report = await butter.bulk_run(creates(20), journal=journal)
    assert report.counts["created"] == 20 and len(job_pages(emu)) == 20


# -- a full disk -------------------------------------------------------------------------

FULL_DISK_JOB = """
import asyncio, resource, sys
from butter_async import ButterClient, CreatePage, JournalError, RetryPolicy
from tests.conftest import recipe_fields

url, read, write, journal, concurrency, limit = sys.argv[1:7]

async def main() -> None:
    fast = RetryPolicy(max_retries=6, backoff_base=0.0, backoff_max=0.0)
    async with ButterClient(read, write, base_url=url, retry=fast) as butter:
        if limit != "none":
            # the journal (and its write-ahead log) may not grow past `limit` bytes
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
        pages = (
            CreatePage("recipe", f"job-{i:05d}", f"Job {i}", recipe_fields())
            for i in range(300)
        )
        try:
            report = await butter.bulk_run(
                pages, journal=journal, concurrency=int(concurrency), progress_interval=0
            )
        except JournalError as error:
            report = error.report
            print("JournalError", str(error).replace("\\n", " "))
        print("counts", dict(report.counts), "unrecorded", report.unrecorded)
        print("stopped_by", report.stopped_by)

asyncio.run(main())
"""


@pytest.mark.parametrize("concurrency", [1, 32])
async def test_a_journal_that_cannot_record_stops_the_job_and_a_resume_duplicates_nothing(
    tmp_path: Path, concurrency: int
) -> None:
    journal = tmp_path / "import.journal"
    async with Emulator(seed=SeedSpec(pages=1), latency=0.002) as emu:
        arguments = [emu.url, emu.read_token, emu.write_token, str(journal), str(concurrency)]
        status, out, err = await run_python(FULL_DISK_JOB, *arguments, "40000")
        assert status == 0, err[-3000:]
        assert "JournalError" in out and "cannot record" in out, out
        assert "Traceback" not in err
        assert "stopped_by journal:" in out
        stopped_with = len(job_pages(emu))
        assert 0 < stopped_with < 300  # it stopped at once, well before the end
        # the disk has room again: the same journal resumes, and nothing is created twice
        status, out, err = await run_python(FULL_DISK_JOB, *arguments[:-1], "1", "none")
        assert status == 0, err[-3000:]
        assert "JournalError" not in out
    slugs = job_pages(emu)
    assert len(slugs) == len(set(slugs)) == 300


# -- a damaged journal ---------------------------------------------------------------------


def damaged(path: Path, how: str) -> None:
    """Make a real journal of 20 done operations, then damage it `how`."""
    journal = Journal(path)
    journal.open(JobDescription(target="https://api.example/v2/", account="a"))
    for i in range(20):
        journal.finished(f"page:recipe:job-{i:05d}", i, "created")
    journal.close()
    data = bytearray(path.read_bytes())
    if how == "first 16 bytes zeroed":
        data[:16] = bytes(16)
    elif how == "truncated":
        data = data[: len(data) // 3]
    elif how == "garbage":
        data = bytearray(b"\x00\xffnot a journal at all\n" * 50)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["first 16 bytes zeroed", "truncated", "garbage"])
async def test_a_damaged_journal_is_refused_never_replaced(tmp_path: Path, how: str) -> None:
    journal = tmp_path / "import.journal"
    damaged(journal, how)
    before = journal.read_bytes()
    async with Emulator(seed=SeedSpec(pages=1)) as emu, emu.client(retry=FAST) as butter:
        with pytest.raises(JournalError) as refused:
            await butter.bulk_run(creates(20), journal=journal)
    message = str(refused.value)
    assert str(journal) in message and "another journal" in message
    assert page_writes(emu) == 0
    assert journal.read_bytes() == before  # kept as it was, for inspection
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".v1.jsonl")]


def test_an_old_json_lines_journal_is_still_converted(tmp_path: Path) -> None:
    journal = tmp_path / "old.journal"
    journal.write_text(
        '{"key": "page:recipe:a", "index": 0, "outcome": "created"}\n'
        '{"key": "page:recipe:b", "index": 1}\n'
    )
    opened = Journal(journal)
    opened.open(JobDescription(target="https://api.example/v2/", account="a"))
    assert opened.states_of(["page:recipe:a", "page:recipe:b"]) == {
        "page:recipe:a": "created",
        "page:recipe:b": "started",
    }
    opened.close()
    assert (tmp_path / "old.journal.v1.jsonl").exists()


def test_read_journal_of_a_damaged_file_is_a_journal_error(tmp_path: Path) -> None:
    journal = tmp_path / "import.journal"
    damaged(journal, "truncated")
    with pytest.raises(JournalError, match="damaged or not a journal"):
        read_journal(journal)
    assert not isinstance(JournalError("x"), sqlite3.Error)


async def test_the_cli_prints_one_line_for_a_damaged_journal(tmp_path: Path) -> None:
    source = tmp_path / "pages.jsonl"
    source.write_text(
        '{"page_type": "recipe", "slug": "job-00001", "title": "One", "fields": {}}\n'
    )
    journal = tmp_path / "pages.journal"
    damaged(journal, "first 16 bytes zeroed")
    async with Emulator(seed=SeedSpec(pages=1)) as emu:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "butter_async", "import", "pages", str(source),
            "--journal", str(journal),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={
                **os.environ, "PYTHONPATH": str(ROOT), "BUTTER_BASE_URL": emu.url,
                "BUTTER_READ_TOKEN": emu.read_token, "BUTTER_WRITE_TOKEN": emu.write_token,
            },
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert page_writes(emu) == 0
    assert process.returncode not in (0, None)
    errors = [line for line in err.decode().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in err.decode()
    assert str(journal) in errors[0] and "another journal" in errors[0]
