"""`python -m benchmarks.bulk`: every bulk experiment, one table each: throughput against
the bound and the guide (`bulk_throughput`), under rate limits (`bulk_rate_limited`), and
optionally client CPU per write in fresh processes (`bulk_cpu`)."""

from __future__ import annotations

import argparse

from .bulk_cpu import cpu_across_processes, cpu_one_job_per_process
from .bulk_rate_limited import rate_limited
from .bulk_throughput import throughput
from .emulator_process import add_pin_option


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument(
        "--settings",
        default="0.02:50,0.1:200",
        help="latency:concurrency pairs, comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median")
    parser.add_argument("--sample", type=int, default=20, help="guide-pattern creates timed")
    parser.add_argument("--limit", type=float, default=200.0, help="rate limit (req/s)")
    parser.add_argument("--limited-n", type=int, default=6_000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--cpu-processes",
        type=int,
        default=0,
        help="also compare CPU per write at 20 ms, C=50 in this many fresh processes",
    )
    parser.add_argument(
        "--cpu-jobs",
        type=int,
        default=0,
        help="also compare CPU per write at 20 ms, C=50 over this many rounds of one job a process",
    )
    parser.add_argument(
        "--cpu-jitter",
        type=float,
        default=0.0,
        help="server-time spread (+- seconds) around the 20 ms of --cpu-processes and --cpu-jobs",
    )
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.sample, args.limited_n, args.repeat = 300, 3, 300, 1
    lost_total = duplicates_total = 0
    for setting in args.settings.split(","):
        latency, concurrency = setting.split(":")
        if float(latency) <= 0:
            parser.error(f"{setting}: the N*L/C bound needs a latency above 0")
        _, _, lost, duplicates = throughput(
            args.n, float(latency), int(concurrency), args.repeat, args.sample, args.pin_cores
        )
        lost_total += lost
        duplicates_total += duplicates
    for kind in ("window", "bucket"):
        _, lost, duplicates = rate_limited(args.limited_n, args.limit, 50, args.pin_cores, kind)
        lost_total += lost
        duplicates_total += duplicates
    print(f"  lost {lost_total}, duplicates {duplicates_total} (both 0)")
    if args.cpu_processes:
        rounds = 2 if args.quick else 8
        cpu_across_processes(
            args.n, 0.02, 50, args.cpu_processes, rounds, args.pin_cores, args.cpu_jitter
        )
    if args.cpu_jobs:
        cpu_one_job_per_process(args.n, 0.02, 50, args.cpu_jobs, args.pin_cores, args.cpu_jitter)


if __name__ == "__main__":
    main()
