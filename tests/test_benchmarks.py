"""The benchmarks run end to end in quick mode and print their tables (no timing asserted)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bulk_cpu import Comparison
from benchmarks.emulator_process import EmulatorProcess
from benchmarks.host import child_environment

ROOT = Path(__file__).parent.parent


def test_quick_benchmarks_print_every_table() -> None:
    env = {**child_environment(), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for title in (
        "stream 1,000 posts, page_size 100, latency 50 ms",
        "stream 1,000 posts, page_size 100, latency 0 ms",
        "stream 1,000 posts, page_size 100, latency 50 +- 40 ms",
        "bulk create 300 pages, latency 20 ms, concurrency 50",
        "bulk create 300 pages, latency 100 ms, concurrency 200",
        "under a sliding 1 s window of 200 requests",
        "under a token bucket of 200 requests a second",
        "resuming a job of 1,600 creates under a sliding 1 s window of 200",
        "decoding cost per object",
        "explaining a list answer whose every item is wrong",
        "typed decode us (the SDK)",
        "peak RSS of the client process (MB)",
        "resuming a journal of 20,000 operations",
        "journal CPU per write",
        "host yardstick",
        "a site: 300 views by 50 visitors over 50 pages",
        "cache hits on a warm cache",
        "from a write to a fresh cached read, through the emulator's webhook",
        "import cost (fresh interpreter, bytecode cached",
        "creates from K processes under one sliding 1 s window",
        "types generate against streaming the same pages",
    ):
        assert title in out
    assert "official buttercms-python (sequential)" in out
    assert "aiohttp + orjson gather, dicts (best hand loop)" in out
    assert "naive loop: sleep Retry-After, resend" in out
    assert "aiohttp + orjson + semaphore (best hand loop)" in out
    assert "x the orjson hand loop's" in out
    assert "lost 0, duplicates 0" in out
    assert "2 x 200, shared pace" in out
    assert "200 concurrent identical gets: 1 upstream request(s)" in out
    assert "emulator pinned to CPU" in out or "placed by the OS scheduler" in out
    assert "Traceback" not in result.stderr


def test_two_trees_are_compared_in_the_same_rounds() -> None:
    command = [sys.executable, "-m", "benchmarks.against", "HEAD", "--n", "100"]
    result = subprocess.run(
        [*command, "--processes", "1", "--rounds", "1"],
        cwd=ROOT,
        env={**child_environment(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HEAD and this tree in the same rounds" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("  all rounds")]
    assert len(rows) == 1 and all(float(ratio) > 0 for ratio in rows[0][2:])


def _cores() -> set[int]:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()


@pytest.mark.skipif(len(_cores()) < 2, reason="placement needs Linux and two CPUs")
def test_emulator_process_gets_a_cpu_of_its_own() -> None:
    before = _cores()
    with EmulatorProcess() as emu:
        emulator_cores = os.sched_getaffinity(emu.pid)
        client_cores = _cores()
        assert emu.url.startswith("http://127.0.0.1:")
    assert emulator_cores == {max(before)}
    assert client_cores == before - {max(before)}
    assert f"emulator pinned to CPU {max(before)}" in emu.placement
    assert _cores() == before  # the benchmark process gets its CPUs back


@pytest.mark.skipif(len(_cores()) < 2, reason="placement needs Linux and two CPUs")
def test_no_pin_leaves_placement_to_the_scheduler() -> None:
    before = _cores()
    with EmulatorProcess(pin_cores=False) as emu:
        assert os.sched_getaffinity(emu.pid) == before
        assert _cores() == before
    assert emu.placement == "emulator and client placed by the OS scheduler"


def test_instruction_workloads_run_and_valgrind_is_optional(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import instructions

    with EmulatorProcess(posts=120, pages=3, pin_cores=False) as emu:
        for workload in instructions.WORKLOADS:
            command = ["--inner", workload, "3", emu.url, emu.read_token, emu.write_token]
            instructions.main(command)
    monkeypatch.setattr(instructions.shutil, "which", lambda _name: None)
    instructions.main(["--quick"])
    assert "skipped (valgrind is not on PATH)" in capsys.readouterr().out


def assert_sane(row: Comparison, writes: int) -> None:
    """One round of the BulkWriter against the bare loop, as a user would read it."""
    assert row.ours_us > 0 and row.bare_us > 0
    assert abs(row.ratio - row.ours_us / row.bare_us) < 0.01
    assert min(row.ours_faults, row.bare_faults) >= 0
    # A job of `writes` writes waits for the network at least once a round trip.
    assert row.ours_wakeups >= 1 / writes and row.bare_wakeups >= 1 / writes
    assert 0 < row.wall_ratio < 10


def test_cpu_per_write_across_fresh_processes_prints_each_process_and_the_median(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.bulk_cpu import cpu_across_processes

    result = cpu_across_processes(200, 0.02, 10, processes=2, rounds=1, pin_cores=False)
    out = capsys.readouterr().out
    assert "client CPU per bulk write, BulkWriter / bare loop, latency 20 ms" in out
    assert "2 processes of 1 rounds" in out
    assert "ours us/write" in out and "wakeups" in out and "wall ours/bare" in out
    assert len(result.rounds) == 2  # two processes of one round each
    for row in result.rounds:
        assert_sane(row, 200)
    assert result.median == statistics.median(row.ratio for row in result.rounds)
    assert 0 < result.median < 10
    assert f"target 6: CPU per write {result.median:.2f}x" in out


def test_cpu_per_write_one_job_a_process_prints_each_round_and_the_median(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.bulk_cpu import cpu_one_job_per_process

    result = cpu_one_job_per_process(200, 0.02, 10, rounds=2, pin_cores=False, jitter=0.005)
    out = capsys.readouterr().out
    assert "one job per fresh process, latency 20 +- 5 ms" in out
    assert "2 rounds (200 writes each)" in out
    assert len(result.rounds) == 2
    for row in result.rounds:
        assert_sane(row, 200)
    assert result.median == statistics.median(row.ratio for row in result.rounds)
    assert f"one job a process: CPU per write {result.median:.2f}x" in out


def test_benchmark_children_run_without_the_test_runs_debug_switches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONASYNCIODEBUG", "1")
    monkeypatch.setenv("PYTHONDEVMODE", "1")
    code = "import asyncio, sys; print(asyncio.new_event_loop().get_debug(), sys.flags.dev_mode)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["False", "False"]
