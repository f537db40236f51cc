"""Sharded imports on a real SAQ queue: real worker processes over a real Redis, one
killed mid-shard, every item written exactly once and one merged report."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from butter_async.bulk import BulkReport, BulkResult
from butter_async.jobs import ImportJob
from butter_async.jobs.shard_reports import merge, report_from_dict, report_to_dict
from butter_async.jobs.shards import Shard, shard_number
from butter_async.testing import Emulator, SeedSpec, emulator_in_thread

from .conftest import recipe_fields


def pages_file(path: Path, count: int, prefix: str = "q") -> Path:
    path.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "page_type": "recipe",
                    "slug": f"{prefix}-{i}",
                    "title": f"Q {i}",
                    "fields": recipe_fields(headline=f"Q {i}"),
                }
            )
            + b"\n"
            for i in range(count)
        )
    )
    return path


def test_shards_split_every_line_into_exactly_one_shard(tmp_path: Path) -> None:
    source = pages_file(tmp_path / "pages.jsonl", 300)
    seen: Counter[str] = Counter()
    sizes = []
    for shard in Shard.every(4):
        job = ImportJob(source, "pages", shard=shard)
        job.validate()
        keys = [operation.key for operation in job.operations()]
        sizes.append(len(keys))
        seen.update(keys)
        assert job.journal.name == f"pages.jsonl.{shard.name}.journal"
        assert job.failed_file.name == f"pages.jsonl.{shard.name}.failed.jsonl"
    assert len(seen) == 300 and set(seen.values()) == {1}
    assert min(sizes) > 40  # a hash, not one shard taking everything
    # The same key lands in the same shard on every machine and every run (no `hash()`).
    assert [shard_number(f"page:q-{i}", 4) for i in (1, 3, 4)] == [4, 2, 3]


def test_a_shard_must_be_one_of_its_count() -> None:
    from butter_async import ConfigurationError

    for number, count in [(0, 4), (5, 4), (1, 0)]:
        with pytest.raises(ConfigurationError, match="shard"):
            Shard(number, count)


def test_a_merged_report_sums_the_shards_and_names_failures_by_line() -> None:
    from butter_async.jobs.shard_reports import ShardOutcome

    one = BulkReport(total=3, retries=2, rate_limited=1, elapsed=2.0)
    one.counts.update({"created": 2, "failed": 1})
    one.failures.append(BulkResult(1, "page:b", "create_page", "failed", 1, detail="bad"))
    stored = report_to_dict(one, lines=[4, 9, 12])  # the shard's inputs are lines 4, 9, 12
    two = BulkReport(total=2, elapsed=3.0)
    two.counts.update({"created": 1, "skipped": 1})
    merged = merge(
        [
            ShardOutcome(
                Shard(1, 3), "complete", report_from_dict(orjson.loads(orjson.dumps(stored)))
            ),
            ShardOutcome(Shard(2, 3), "complete", two),
            ShardOutcome(Shard(3, 3), "failed", BulkReport(), error="ImportTargetError: x"),
        ]
    )
    assert merged.merged.total == 5
    assert merged.merged.counts == Counter({"created": 3, "failed": 1, "skipped": 1})
    assert (merged.merged.retries, merged.merged.rate_limited, merged.merged.elapsed) == (2, 1, 3.0)
    assert [(f.index + 1, f.key, f.detail) for f in merged.merged.failures] == [
        (9, "page:b", "bad")
    ]
    assert merged.merged.stopped_by == "shard-3-of-3: ImportTargetError: x"
    assert not merged.ok


class Lines:
    """A process's stderr read line by line on a thread, so a test can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        assert process.stderr is not None
        stream = process.stderr
        threading.Thread(
            target=lambda: [self._lines.put(line) for line in stream], daemon=True
        ).start()

    def wait_for(self, wanted: object, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if callable(wanted) and wanted(line):
                return line
        raise AssertionError(f"never saw it; saw:\n{''.join(self.seen)}")

    def rest(self) -> str:
        while not self._lines.empty():
            self.seen.append(self._lines.get())
        return "".join(self.seen)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def command(*words: str) -> list[str]:
    return [sys.executable, "-m", "butter_async", *words]


def account_env(emu: Emulator, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BUTTER_READ_TOKEN": emu.read_token,
        "BUTTER_WRITE_TOKEN": emu.write_token,
        "BUTTER_BASE_URL": emu.url,
        "BUTTER_QUEUE": redis_url,
    }


def start_worker(
    env: dict[str, str], processes: list[subprocess.Popen[str]], *, saq: bool = False
) -> subprocess.Popen[str]:
    """`butter-async import-worker`, or SAQ's own worker over our settings."""
    settings = "butter_async.jobs.shard_worker.worker_settings"
    words = [sys.executable, "-m", "saq", settings] if saq else command("import-worker")
    worker = subprocess.Popen(
        words,
        env={**env, "BUTTER_QUEUE_SWEEP": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    processes.append(worker)
    return worker


def test_a_sharded_import_survives_a_worker_killed_mid_shard(
    tmp_path: Path, redis_url: str, processes: list[subprocess.Popen[str]]
) -> None:
    source = pages_file(tmp_path / "pages.jsonl", 400)
    with emulator_in_thread(seed=SeedSpec(pages=1), latency=0.05) as emu:
        env = account_env(emu, redis_url)
        doomed = start_worker(env, processes)
        start_worker(env, processes)
        coordinator = subprocess.Popen(
            command(
                "import",
                "pages",
                str(source),
                "--shards",
                "4",
                "--concurrency",
                "2",
                "--shard-heartbeat",
                "2",
            ),
            env={name: value for name, value in env.items() if name != "BUTTER_WRITE_TOKEN"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(coordinator)
        states = Lines(coordinator)
        active: set[str] = set()

        def two_shards_writing(line: str) -> bool:
            name, _, state = line.partition(": ")
            if state.startswith("active") and not state.startswith("active, 0 done"):
                active.add(name)
            return len(active) >= 2

        # Two workers, one shard each at a time: with two shards writing, both are busy.
        states.wait_for(two_shards_writing)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        start_worker(env, processes)
        out, _ = coordinator.communicate(timeout=180)
        said = states.rest()
        assert coordinator.returncode == 0, said + out
        slugs = Counter(slug for slug in emu.store.page_slugs() if slug.startswith("q-"))
    assert len(slugs) == 400 and set(slugs.values()) == {1}  # none lost, none twice
    assert "attempt 2" in said  # the killed worker's shard ran again
    assert out.startswith("400 operations done")
    done = out.splitlines()[0]
    assert "failed" not in done and "created" in done
    assert out.count("complete") == 4
    # The queue carried no token: every key and value in Redis is free of both.
    everything = redis_dump(redis_url)
    assert emu.read_token.encode() not in everything
    assert emu.write_token.encode() not in everything


def redis_dump(url: str) -> bytes:
    client = redis.Redis.from_url(url)
    parts: list[bytes] = []
    for key in client.scan_iter():
        parts.append(key)
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"hash":
            parts.extend(b"%s=%s" % pair for pair in client.hgetall(key).items())
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"zset":
            parts.extend(member for member, _ in client.zrange(key, 0, -1, withscores=True))
        elif kind == b"set":
            parts.extend(client.smembers(key))
    client.close()
    return b"\n".join(parts)


def test_a_worker_refuses_a_shard_planned_for_another_account(
    tmp_path: Path, redis_url: str, processes: list[subprocess.Popen[str]]
) -> None:
    source = pages_file(tmp_path / "pages.jsonl", 10, prefix="other")
    with emulator_in_thread(seed=SeedSpec(pages=1)) as emu:
        env = account_env(emu, redis_url)
        start_worker({**env, "BUTTER_READ_TOKEN": "another-account"}, processes, saq=True)
        planned = subprocess.run(
            command("import", "pages", str(source), "--shards", "1", "--shard-heartbeat", "2"),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        written = [slug for slug in emu.store.page_slugs() if slug.startswith("other-")]
    assert planned.returncode == 1
    refusal = "shard-1-of-1: refused (ImportTargetError: shard-1-of-1: this worker writes to"
    assert refusal in planned.stdout
    assert "ImportTargetError" in planned.stdout and "another-account" not in planned.stdout
    assert written == []


def test_sharding_needs_a_queue_and_keeps_per_shard_files(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main

    source = pages_file(tmp_path / "pages.jsonl", 3)
    runner = CliRunner()
    no_queue = runner.invoke(
        main, ["import", "pages", str(source), "--shards", "2"], env={"BUTTER_QUEUE": ""}
    )
    assert no_queue.exit_code == 2 and "--queue" in no_queue.output
    journal = runner.invoke(
        main,
        ["import", "pages", str(source), "--shards", "2", "--queue", "redis://h", "--journal", "j"],
    )
    assert journal.exit_code == 2 and "each shard has its own" in journal.output


def test_a_sharded_import_skips_invalid_lines_once_and_says_so(
    tmp_path: Path, redis_url: str, processes: list[subprocess.Popen[str]]
) -> None:
    source = pages_file(tmp_path / "pages.jsonl", 30, prefix="skip")
    with source.open("ab") as lines:
        lines.write(b'{"page_type": "recipe", "title": "no slug"}\nnot json\n')
    with emulator_in_thread(seed=SeedSpec(pages=1)) as emu:
        env = account_env(emu, redis_url)
        start_worker(env, processes)
        planned = subprocess.run(
            command("import", "pages", str(source), "--shards", "3", "--skip-invalid"),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        written = Counter(s for s in emu.store.page_slugs() if s.startswith("skip-"))
    assert planned.returncode == 3, planned.stdout + planned.stderr  # done, lines left out
    assert "2 invalid line(s) written to" in planned.stderr
    invalid = (tmp_path / "pages.jsonl.invalid.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["line"] for line in invalid] == [31, 32]
    assert len(written) == 30 and set(written.values()) == {1}
    assert planned.stdout.startswith("30 operations done") and planned.stdout.count("complete") == 3
    assert not list(tmp_path.glob("*.shard-*.invalid.jsonl"))  # shards write no copy of it


async def test_a_retried_item_shard_without_its_journal_is_refused(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from butter_async.jobs.imports import file_digest
    from butter_async.jobs.shard_worker import WorkerAccount, import_shard

    source = tmp_path / "items.jsonl"
    source.write_bytes(b'{"fields": {"name": "a"}}\n{"fields": {"name": "b"}}\n')
    account = WorkerAccount("read", "write", "http://127.0.0.1:9", "redis://127.0.0.1:9")

    async def run(attempts: int, match_on: str | None) -> dict[str, object]:
        context = {"account": account, "job": SimpleNamespace(attempts=attempts, heartbeat=0)}
        defaults = {"page_type": None, "collection": "products", "status": None}
        return await import_shard(
            context,
            source=str(source),
            kind="collection",
            digest=file_digest(source),
            defaults={**defaults, "match_on": match_on},
            skip_invalid=False,
            account="someone",
            api_root="http://127.0.0.1:9/",
            concurrency=2,
            rate_limit=None,
            shard=1,
            shards=2,
        )

    refused = await run(attempts=2, match_on=None)
    assert refused["ok"] is False and "could duplicate" in str(refused["refused"])
    assert "--match-on FIELD" in str(refused["refused"])
    # A first run, or items identified by a field, go on (here to the account check).
    for attempts, match_on in ((1, None), (2, "name")):
        answer = await run(attempts, match_on)
        assert "this worker writes to" in str(answer["refused"])


def test_a_damaged_result_in_the_queue_is_named_not_counted() -> None:
    from types import SimpleNamespace

    from saq.job import Status

    from butter_async.jobs.import_queue import _outcome

    damaged = {"ok": True, "report": {"total": 3, "failures": [{"line": 2}]}}
    job = SimpleNamespace(result=damaged, error=None, status=Status.COMPLETE)
    outcome = _outcome(Shard(1, 2), job)  # type: ignore[arg-type]
    assert (outcome.status, outcome.report.total, outcome.ok) == ("damaged", 0, False)
    assert merge([outcome]).merged.stopped_by == "shard-1-of-2: its result in the queue is damaged"
