"""`python -m benchmarks [--quick]`: every benchmark, one table each."""

from __future__ import annotations

import argparse
import platform
import time

from . import (
    bulk,
    bulk_processes,
    import_time,
    journal,
    memory,
    resume,
    stream,
    structure,
    typegen,
    webapp,
)
from .emulator_process import add_pin_option
from .host import cpu_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    add_pin_option(parser)
    args = parser.parse_args()
    flags = ["--quick"] if args.quick else []
    if not args.pin_cores:
        flags.append("--no-pin")
    print(f"butter_async benchmarks on {platform.platform()}, Python {platform.python_version()}")
    # The host is shared: the same fixed work, timed before and after, tells how fast it
    # was during this run, so that runs on different days can be compared.
    before = cpu_check()
    for module in (
        stream,
        bulk,
        bulk_processes,
        resume,
        structure,
        typegen,
        memory,
        journal,
        webapp,
        import_time,
    ):
        started = time.perf_counter()
        module.main(flags)
        print(f"  ({module.__name__} took {time.perf_counter() - started:.1f} s)")
    after = cpu_check()
    print(
        f"\nhost yardstick (benchmarks/host.py, lower is faster): "
        f"{before:.1f} ms before the run, {after:.1f} ms after"
    )


if __name__ == "__main__":
    main()
