"""Client CPU per bulk write against the bare loop (target 6), in fresh processes:
`python -m benchmarks.bulk_cpu --processes N` or `--jobs N`."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from .bulk_throughput import CHURN_FAULTS, Run, bulk_round, run_contender
from .emulator_process import (
    EmulatorProcess,
    add_pin_option,
    latency_label,
)
from .host import child_environment
from .table import print_table


def run_inner(*arguments: str) -> Any:
    """Run `python -m benchmarks.bulk_cpu ARGUMENTS` in a fresh process; the JSON it
    printed last."""
    command = [sys.executable, "-m", "benchmarks.bulk_cpu", *arguments]
    root = Path(__file__).parent.parent
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, cwd=root, env=child_environment()
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


LOCKSTEP_NOTE = """\
  wakeups: the event loop's sleeps for the network, per write. At a fixed latency, a loop
  that handles a whole round trip's answers at once wakes about once per `concurrency`
  writes (0.02 at C=50) and takes longer in wall time; one that sends each next request as
  its answer comes wakes more often. Latency jitter (--cpu-jitter) takes both the second way."""


class Comparison(NamedTuple):
    """One round of the BulkWriter against the bare loop: the CPU ratio, each one's CPU
    µs, minor page faults and event-loop wakeups a write, and the wall-time ratio."""

    ratio: float
    ours_us: float
    ours_faults: float
    ours_wakeups: float
    bare_us: float
    bare_faults: float
    bare_wakeups: float
    wall_ratio: float


COMPARISON_COLUMNS = [
    "ours us/write",
    "faults",
    "wakeups",
    "bare us/write",
    "faults",
    "wakeups",
    "wall ours/bare",
]
"""Headers of a `Comparison`'s fields after its ratio."""


class CpuRatios(NamedTuple):
    """What a target-6 harness measured, for scripts and tests to read rather than the
    table: the median CPU ratio and every round's `Comparison`."""

    median: float
    rounds: list[Comparison]


def compare(ours: Run, bare: Run, n: int) -> Comparison:
    """The round in which each contender made `n` writes."""
    return Comparison(
        ours.cpu / bare.cpu,
        ours.cpu / n * 1e6,
        ours.faults,
        ours.wakeups,
        bare.cpu / n * 1e6,
        bare.faults,
        bare.wakeups,
        ours.wall / bare.wall,
    )


def cpu_rounds(
    n: int, latency: float, jitter: float, concurrency: int, rounds: int, pin_cores: bool
) -> None:
    """Print each round's `Comparison` as JSON: one process's share of
    `cpu_across_processes`."""
    measured = []
    server = EmulatorProcess(pages=1, latency=latency, jitter=jitter, pin_cores=pin_cores)
    with server as emu:
        for run in range(rounds + 1):
            tag = f"cpu{time.time_ns()}"
            done = bulk_round(emu, n, concurrency, run, {"ours": f"{tag}o", "bare": f"{tag}b"})
            if run > 0:  # the first round warms up
                measured.append(compare(done["ours"], done["bare"], n))
    print(json.dumps(measured))


def cpu_across_processes(
    n: int,
    latency: float,
    concurrency: int,
    processes: int,
    rounds: int,
    pin_cores: bool,
    jitter: float = 0.0,
) -> CpuRatios:
    """Target 6 measured in `processes` fresh processes: the median of every round's CPU
    ratio. Which way the allocator and the host go is settled per process, so one
    process's rounds can sit 10% away from another's; the rounds where neither
    contender's allocator churned are also summed up on their own."""
    per_process: list[list[Comparison]] = []
    for _ in range(processes):
        arguments = ["--inner-cpu", str(n), str(latency), str(jitter), str(concurrency)]
        arguments += [str(rounds), *([] if pin_cores else ["--no-pin"])]
        per_process.append([Comparison(*row) for row in run_inner(*arguments)])
    every = [row for rows in per_process for row in rows]
    median = statistics.median(row.ratio for row in every)

    def summary(label: object, rows: list[Comparison]) -> list[object]:
        ratios = [row.ratio for row in rows]
        columns = (statistics.median(column) for column in list(zip(*rows, strict=True))[1:])
        return [label, statistics.median(ratios), min(ratios), max(ratios), *columns]

    print_table(
        f"client CPU per bulk write, BulkWriter / bare loop, latency "
        f"{latency_label(latency, jitter)}, concurrency {concurrency}: {processes} processes "
        f"of {rounds} rounds ({n:,} writes each)",
        ["process", "median ratio", "lowest", "highest", *COMPARISON_COLUMNS],
        [summary(i + 1, rows) for i, rows in enumerate(per_process)]
        + [summary("all rounds", every)],
    )
    calm = [row for row in every if max(row.ours_faults, row.bare_faults) < CHURN_FAULTS]
    if calm:
        calm_median = statistics.median(row.ratio for row in calm)
        print(
            f"  {len(calm)} of {len(every)} rounds with neither allocator churning "
            f"(< {CHURN_FAULTS} minor faults a write each): median ratio {calm_median:.2f}"
        )
    print(LOCKSTEP_NOTE)
    print(f"  target 6: CPU per write {median:.2f}x the bare loop's (<= 1.1 at C=50)")
    return CpuRatios(median, every)


def one_job(name: str, url: str, n: int, concurrency: int) -> None:
    """Run one contender's job in this fresh process; print its `Run` as JSON, without
    the report."""
    done = run_contender(url, name, n, concurrency, f"job{time.time_ns()}")
    print(json.dumps(done._replace(report=None)))


def cpu_one_job_per_process(
    n: int, latency: float, concurrency: int, rounds: int, pin_cores: bool, jitter: float = 0.0
) -> CpuRatios:
    """Target 6 as a user's job meets it: each contender's job in a process of its own,
    as a bulk import runs; the rounds alternate which goes first. The median ratio."""
    rows: list[Comparison] = []
    server = EmulatorProcess(pages=1, latency=latency, jitter=jitter, pin_cores=pin_cores)
    with server as emu:
        for run in range(rounds):
            got = {}
            for name in ("ours", "bare") if run % 2 else ("bare", "ours"):
                job = run_inner("--inner-job", name, emu.url, str(n), str(concurrency))
                got[name] = Run(*job)
            rows.append(compare(got["ours"], got["bare"], n))
    median = statistics.median(row.ratio for row in rows)
    print_table(
        f"client CPU per bulk write, one job per fresh process, latency "
        f"{latency_label(latency, jitter)}, concurrency {concurrency}: {rounds} rounds "
        f"({n:,} writes each)",
        ["round", "ratio", *COMPARISON_COLUMNS],
        [[i + 1, *row] for i, row in enumerate(rows)]
        + [["median", *(statistics.median(column) for column in zip(*rows, strict=True))]],
    )
    print(LOCKSTEP_NOTE)
    print(f"  target 6, one job a process: CPU per write {median:.2f}x the bare loop's")
    return CpuRatios(median, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument("--processes", type=int, default=0, help="fresh processes of rounds")
    parser.add_argument("--jobs", type=int, default=0, help="rounds of one job a process")
    parser.add_argument("--rounds", type=int, default=8, help="rounds in each process")
    parser.add_argument("--jitter", type=float, default=0.0, help="server time +- seconds")
    parser.add_argument("--inner-cpu", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--inner-job", nargs=4, help=argparse.SUPPRESS)
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.inner_cpu:
        n, latency, jitter, concurrency, rounds = args.inner_cpu
        cpu_rounds(
            int(n), float(latency), float(jitter), int(concurrency), int(rounds), args.pin_cores
        )
        return
    if args.inner_job:
        name, url, n, concurrency = args.inner_job
        one_job(name, url, int(n), int(concurrency))
        return
    if args.processes:
        cpu_across_processes(
            args.n, 0.02, 50, args.processes, args.rounds, args.pin_cores, args.jitter
        )
    if args.jobs:
        cpu_one_job_per_process(args.n, 0.02, 50, args.jobs, args.pin_cores, args.jitter)


if __name__ == "__main__":
    main()
