"""Jobs that cannot lose content by mistake: journals bound to their target, early stops
on what cannot succeed, and an honest Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson
import pytest

from butter_async import (
    ButterClient,
    ConfigurationError,
    JournalMismatchError,
    MissingWriteTokenError,
    RetryPolicy,
)
from butter_async.bulk import DEFAULT_MAX_IDENTICAL_FAILURES, BulkProgress
from butter_async.bulk.journal import read_journal
from butter_async.operations import CreateItem, CreatePage, CreatePost
from butter_async.testing import Emulator, SeedSpec

from .conftest import finished_in, recipe_fields

FAST = RetryPolicy(max_retries=1, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)


def posts(n: int) -> list[CreatePost]:
    return [CreatePost(f"job-{i:05d}", f"Job {i}") for i in range(n)]


def writes_to(emu: Emulator) -> int:
    return sum(1 for record in emu.requests if record.method != "GET")


# -- journals bound to their target ---------------------------------------------------------


async def test_a_journal_from_another_target_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "job.journal"
    async with Emulator() as staging, staging.client(retry=FAST) as butter:
        report = await butter.bulk_run(posts(30), journal=journal)
        assert report.counts["created"] == 30
    async with Emulator() as production, production.client(retry=FAST) as butter:
        with pytest.raises(JournalMismatchError) as refused:
            await butter.bulk_run(posts(30), journal=journal)
        assert writes_to(production) == 0
        message = str(refused.value)
        assert staging.url in message and production.url in message
        assert staging.read_token not in message and production.read_token not in message
        overridden = await butter.bulk_run(posts(30), journal=journal, journal_override=True)
    assert overridden.counts["skipped"] == 30  # the override adopts the journal as it is


async def test_a_journal_of_another_job_id_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "job.journal"
    async with Emulator() as emu, emu.client(retry=FAST) as butter:
        await butter.bulk_run(posts(3), journal=journal, job_id="january")
        with pytest.raises(JournalMismatchError, match="january"):
            await butter.bulk_run(posts(3), journal=journal, job_id="february")
        again = await butter.bulk_run(posts(5), journal=journal, job_id="january")
    assert (again.counts["skipped"], again.counts["created"]) == (3, 2)


async def test_an_old_json_lines_journal_is_migrated(tmp_path: Path) -> None:
    journal = tmp_path / "old.jsonl"
    lines = [
        {"key": "post:job-00000", "index": 0},
        {"key": "post:job-00000", "index": 0, "outcome": "created"},
        {"key": "post:job-00001", "index": 1},  # started, never finished: re-checked
    ]
    journal.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines) + b'{"torn')
    async with Emulator() as emu, emu.client(retry=FAST) as butter:
        await butter.posts.create("job-00001", "Job 1")  # the killed run had sent it
        report = await butter.bulk_run(posts(3), journal=journal)
    assert report.counts == {"skipped": 1, "already_existed": 1, "created": 1}
    assert (tmp_path / "old.jsonl.v1.jsonl").exists()
    _, counts = read_journal(journal)
    assert counts == {"created": 2, "already_existed": 1}


async def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "notes.txt"
    journal.write_text("[1, 2, 3]\n")
    async with Emulator() as emu, emu.client(retry=FAST) as butter:
        with pytest.raises(JournalMismatchError, match="neither a journal"):
            await butter.bulk_run(posts(3), journal=journal)
        assert writes_to(emu) == 0


# -- stop early on what cannot succeed ------------------------------------------------------


async def test_no_write_token_raises_before_anything_is_taken() -> None:
    taken = 0

    def source() -> object:
        nonlocal taken
        for op in posts(3000):
            taken += 1
            yield op

    async with Emulator() as emu, emu.client(write=False) as butter:
        with pytest.raises(MissingWriteTokenError):
            await butter.bulk_run(source())  # type: ignore[arg-type]
        assert taken == 0 and len(emu.requests) == 0


async def test_a_wrong_write_token_stops_the_job() -> None:
    async with Emulator() as emu:
        # as if the user pasted the wrong write token
        wrong = ButterClient(emu.read_token, "wrong-token", base_url=emu.url, retry=FAST)
        async with wrong:
            report = await wrong.bulk_run(posts(3000), concurrency=8)
        sent = writes_to(emu)
    assert sent <= 8  # at most what was in flight when the first 401 came back
    assert report.stopped_by == "401: Invalid token."
    assert report.counts["failed"] == sent
    assert report.counts["not_attempted"] == 3000 - sent
    assert report.total == 3000


async def test_an_unknown_page_type_or_collection_is_reported_once() -> None:
    ops = [CreatePage("nope", f"n-{i}", "N", {}) for i in range(500)]
    ops += [CreateItem("no-such-collection", {"name": f"x{i}"}) for i in range(500)]
    ops += [CreatePage("recipe", "fine", "Fine", recipe_fields())]
    async with Emulator(seed=SeedSpec(pages=1)) as emu, emu.client(retry=FAST) as butter:
        report = await butter.bulk_run(ops, concurrency=4)
        sent = writes_to(emu)
    assert report.counts == {"failed": 1000, "created": 1}
    assert sent <= 2 * 4 + 1  # one wave per missing schema, then none of its inputs
    not_sent = [r for r in report.failures if (r.detail or "").startswith("not sent")]
    assert len(not_sent) >= 1000 - 8
    assert "page type 'nope'" in not_sent[0].detail or "collection" in not_sent[0].detail  # type: ignore[operator]


# -- an honest Ctrl-C -----------------------------------------------------------------------


async def test_sigint_prints_a_true_summary_and_the_resume_command(tmp_path: Path) -> None:
    n = 400
    source = tmp_path / "posts.jsonl"
    source.write_bytes(
        b"".join(
            orjson.dumps({"slug": f"sig-{i:04d}", "title": f"S {i}"}) + b"\n" for i in range(n)
        )
    )
    journal = tmp_path / "posts.jsonl.journal"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    async with Emulator(write_latency=0.02) as emu:
        env.update(BUTTER_READ_TOKEN=emu.read_token, BUTTER_WRITE_TOKEN=emu.write_token)
        command = [sys.executable, "-m", "butter_async", "import", "posts", str(source)]
        command += ["--base-url", emu.url, "--concurrency", "4"]
        job = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        while finished_in(journal) < 40:  # noqa: ASYNC110  (another process writes it)
            await asyncio.sleep(0.01)
        job.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(job.communicate(), 30)
        created = sum(1 for slug in emu.store.posts if slug.startswith("sig-"))
        assert job.returncode == 130, err
        summary = out.decode()
        _, counts = read_journal(journal)
        assert f"created {counts['created']}" in summary
        # In flight at the signal: reported interrupted (it may have landed), never lost.
        assert counts["created"] <= created <= counts["created"] + counts["interrupted"] < n
        for outcome in ("interrupted", "not_attempted"):
            if counts[outcome] or outcome == "not_attempted":
                expected = n - counts["created"] - counts["interrupted"]
                number = counts[outcome] if outcome == "interrupted" else expected
                assert f"{outcome} {number}" in summary, summary
        resume = err.decode().split("resume with:\n")[1].strip()
        assert emu.write_token not in err.decode() and emu.read_token not in err.decode()
        assert resume.startswith("butter-async import posts") and "--base-url" in resume
        again = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "butter_async",
            *resume.split()[1:],
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(again.communicate(), 60)
        assert again.returncode == 0, err
        assert sorted(s for s in emu.store.posts if s.startswith("sig-")) == [
            f"sig-{i:04d}" for i in range(n)
        ]
    assert f"skipped {counts['created']}" in out.decode()


# -- honest summaries ------------------------------------------------------------------------


def test_a_report_counts_what_was_done_and_fits_on_a_line() -> None:
    from butter_async.bulk import BulkReport, BulkResult
    from butter_async.cli.imports import describe

    report = BulkReport(elapsed=2.0)
    for index in range(504):
        outcome = "created" if index < 180 else "interrupted" if index < 200 else "not_attempted"
        result = BulkResult(index, f"page:p-{index}", "CreatePage", outcome)  # type: ignore[arg-type]
        report.add(result)
    assert report.done == 180 and report.throughput == 90.0
    summary = describe(report, Path("x.failed.jsonl"))
    assert summary.startswith("180 operations done of 504 taken in 2.0s (90/s)")
    shown = repr(report)
    assert "\n" not in shown and len(shown) < 300
    assert "180 of 504 done" in shown and "+321" in shown


async def test_progress_tells_requests_on_the_wire_from_inputs_waiting_for_the_pace() -> None:
    snapshots: list[BulkProgress] = []
    emu = Emulator(seed=SeedSpec(pages=1), latency=0.05, rate_limit=100, rate_limit_kind="window")
    async with emu, emu.client(retry=RetryPolicy(max_retries=30, retry_after_cap=5)) as butter:
        writer = butter.bulk(concurrency=100, progress=snapshots.append, progress_interval=0)
        report = await writer.run(
            CreatePage("recipe", f"w-{i}", "W", recipe_fields()) for i in range(600)
        )
    assert report.ok
    paced = [s for s in snapshots if s.pace is not None and s.elapsed >= 3.0]
    assert paced, "the job ended before it was paced"
    # At 100 a second and 50 ms, about 5 requests are on the wire (more on a busy host,
    # where answers come late); the rest of the 100 workers hold inputs for their turn.
    on_the_wire = sorted(s.in_flight for s in paced)
    assert on_the_wire[len(on_the_wire) // 2] <= 30
    assert max(s.waiting for s in paced) >= 50
    assert all(s.in_flight + s.waiting <= 100 for s in snapshots)


KEEPS_ITS_REPORT = """
import asyncio, sys
from butter_async import ButterClient, CreatePage
from tests.conftest import recipe_fields

async def main() -> None:
    async with ButterClient(sys.argv[2], sys.argv[3], base_url=sys.argv[1]) as butter:
        writer = butter.bulk(concurrency=4, journal=sys.argv[4])
        try:
            await writer.run(
                CreatePage("recipe", f"k-{i}", "K", recipe_fields()) for i in range(2000)
            )
        finally:
            print(repr(writer.report), flush=True)

asyncio.run(main())
"""


async def test_a_script_keeps_its_report_through_ctrl_c(tmp_path: Path) -> None:
    journal = tmp_path / "k.journal"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    async with Emulator(seed=SeedSpec(pages=1), write_latency=0.02) as emu:
        script = [sys.executable, "-c", KEEPS_ITS_REPORT, emu.url, emu.read_token,
                  emu.write_token, str(journal)]  # fmt: skip
        job = await asyncio.create_subprocess_exec(
            *script, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        while finished_in(journal) < 20:  # noqa: ASYNC110  (another process writes it)
            await asyncio.sleep(0.01)
        job.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(job.communicate(), 30)
        created = sum(1 for slug in emu.store.page_slugs() if slug.startswith("k-"))
    assert b"KeyboardInterrupt" in err  # asyncio.run still says how it ended
    (line,) = out.decode().splitlines()
    assert line.startswith("<BulkReport ") and "of 2000 done" in line
    assert "not_attempted" in line
    done = int(line.split("created ")[1].split(",")[0].rstrip(")"))
    interrupted = int(line.split("interrupted ")[1].split(",")[0]) if "interrupted" in line else 0
    assert done <= created <= done + interrupted  # in flight at the signal: it may have landed


async def test_inputs_refused_alike_stop_the_job_after_a_run_of_them(tmp_path: Path) -> None:
    journal = tmp_path / "alike.journal"
    incomplete = {"headline": "Soup"}  # every other field of the page type is missing
    ops = [CreatePage("recipe", f"a-{i}", "A", incomplete) for i in range(300)]
    async with Emulator(seed=SeedSpec(pages=1)) as emu, emu.client(retry=FAST) as butter:
        report = await butter.bulk_run(ops, concurrency=4, journal=journal)
        sent = writes_to(emu)
    assert sent <= DEFAULT_MAX_IDENTICAL_FAILURES + 4  # not one per input
    assert report.stopped_by is not None and "in a row refused alike (400:" in report.stopped_by
    assert report.counts["failed"] == sent
    assert report.counts["not_attempted"] == 300 - sent
    _, counts = read_journal(journal)
    assert counts["not_attempted"] == 300 - sent  # left for a resume


async def test_the_run_of_refusals_can_be_set_or_turned_off() -> None:
    incomplete = {"headline": "Soup"}
    async with Emulator(seed=SeedSpec(pages=1)) as emu, emu.client(retry=FAST) as butter:
        ops = [CreatePage("recipe", f"b-{i}", "B", incomplete) for i in range(30)]
        report = await butter.bulk_run(ops, concurrency=1, max_identical_failures=5)
        assert report.counts["failed"] == 5 and report.counts["not_attempted"] == 25
        ops = [CreatePage("recipe", f"c-{i}", "C", incomplete) for i in range(30)]
        report = await butter.bulk_run(ops, concurrency=4, max_identical_failures=None)
        assert report.counts["failed"] == 30 and report.stopped_by is None
    with pytest.raises(ConfigurationError, match="max_identical_failures"):
        butter.bulk(max_identical_failures=0)


def test_a_plain_import_checks_authors_before_the_first_write(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main
    from butter_async.testing import emulator_in_thread

    source = tmp_path / "posts.jsonl"
    source.write_bytes(orjson.dumps({"slug": "p", "title": "P", "author": {"slug": "nobody"}}))
    with emulator_in_thread() as emu:
        env = {"BUTTER_READ_TOKEN": emu.read_token, "BUTTER_WRITE_TOKEN": emu.write_token,
               "BUTTER_BASE_URL": emu.url}  # fmt: skip
        result = CliRunner().invoke(main, ["import", "posts", str(source)], env=env)
        writes = [r for r in emu.requests if r.method != "GET"]
    assert result.exit_code == 2 and "no author 'nobody'" in result.output
    assert writes == []


async def test_a_wrong_write_token_is_learned_from_one_write() -> None:
    async with Emulator(seed=SeedSpec(pages=1)) as emu:
        async with ButterClient(emu.read_token, "wrong-token-0123456789", base_url=emu.url,
                                retry=FAST) as butter:  # fmt: skip
            ops = (CreatePage("recipe", f"t-{i}", "T", recipe_fields()) for i in range(300))
            report = await butter.bulk_run(ops, concurrency=32)
        sent = writes_to(emu)
    assert sent <= 2  # was 32: every worker's first write was in flight before the 401
    assert report.stopped_by is not None and report.stopped_by.startswith("401")
    assert report.counts["not_attempted"] == 300 - sent


async def test_a_healthy_job_opens_up_to_its_concurrency() -> None:
    snapshots: list[BulkProgress] = []
    emu = Emulator(seed=SeedSpec(pages=1), write_latency=0.02)
    async with emu, emu.client(retry=FAST) as butter:
        writer = butter.bulk(concurrency=32, progress=snapshots.append, progress_interval=0)
        report = await writer.run(
            CreatePage("recipe", f"h-{i}", "H", recipe_fields()) for i in range(600)
        )
    assert report.ok and report.counts["created"] == 600
    assert snapshots[0].in_flight <= 1  # alone at first
    assert max(s.in_flight for s in snapshots) >= 30  # then as wide as it may
