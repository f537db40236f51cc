"""Client CPU as instructions counted by valgrind (callgrind): the same on a busy host.

Wall and CPU times on the shared VM swing by 2x between runs; an instruction count does
not, so a change of a few percent shows. Each workload runs in a child process under
callgrind at two sizes, against one emulator in its own (uncounted) process; the
difference divided by the extra units is the cost of one unit: a streamed post, a
cache hit, a bulk write. Needs `valgrind` on PATH; without it, says so and returns.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from butter_async import ButterClient, MemoryCache

from .bulk_contenders import butter_bulk, plain_aiohttp_bulk
from .emulator_process import EmulatorProcess
from .host import child_environment
from .stream import butter_walk, gather_walk
from .table import print_table

#: A workload run `units` times against the emulator at (url, read token, write token).
Workload = Callable[[str, str, str, int], Coroutine[Any, Any, object]]


async def _gather(url: str, read: str, _write: str, posts: int) -> object:
    return await gather_walk(url, read, 100, 32) if posts else None


async def _typed(url: str, read: str, _write: str, posts: int) -> object:
    return await butter_walk(url, read, 100, 32) if posts else None


async def _raw(url: str, read: str, _write: str, posts: int) -> object:
    return await butter_walk(url, read, 100, 32, raw=True) if posts else None


async def _cache_hits(url: str, read: str, _write: str, hits: int) -> object:
    async with ButterClient(read, base_url=url, cache=MemoryCache(ttl=3600)) as butter:
        await butter.pages.get("recipe", "recipe-000001")  # the miss that fills the cache
        for _ in range(hits):
            await butter.pages.get("recipe", "recipe-000001")
    return None


async def _plain_bulk(url: str, _read: str, write: str, writes: int) -> object:
    return await plain_aiohttp_bulk(url, write, writes, 50, f"plain{writes}")


async def _our_bulk(url: str, read: str, write: str, writes: int) -> object:
    return await butter_bulk(url, read, write, writes, 50, f"ours{writes}")


WORKLOADS: dict[str, Workload] = {
    "gather": _gather,
    "typed": _typed,
    "raw": _raw,
    "cache_hits": _cache_hits,
    "plain_bulk": _plain_bulk,
    "our_bulk": _our_bulk,
}


def instructions(workload: str, units: int, url: str, read: str, write: str) -> int:
    """Instructions the client process ran for `units` of a workload, setup included."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, "-m", "benchmarks.instructions", "--inner", workload]
    command += [str(units), url, read, write]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env=child_environment()
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{workload} failed under valgrind: {done.stderr[-1500:]}")
    return int(found.group(1))


def per_unit(emu: EmulatorProcess, workload: str, small: int, large: int) -> float:
    """Instructions per unit: the difference between two sizes over the extra units."""
    args = (emu.url, emu.read_token, emu.write_token)
    with ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda units: instructions(workload, units, *args), (small, large))
    return (high - low) / (large - small)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--hits", type=int, default=5_000)
    parser.add_argument("--writes", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--inner", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        workload, units, url, read, write = args.inner
        asyncio.run(WORKLOADS[workload](url, read, write, int(units)))
        return
    if shutil.which("valgrind") is None:
        print("\ninstruction counts: skipped (valgrind is not on PATH)")
        return
    if args.quick:
        args.posts, args.hits, args.writes = 500, 200, 100
    with EmulatorProcess(posts=args.posts, pages=200, latency=0.0, pin_cores=False) as emu:
        stream = {name: per_unit(emu, name, 0, args.posts) for name in ("gather", "raw", "typed")}
        hit = per_unit(emu, "cache_hits", 0, args.hits)
        small = max(1, args.writes // 4)
        plain = per_unit(emu, "plain_bulk", small, args.writes)
        ours = per_unit(emu, "our_bulk", small, args.writes)
    gather, raw, typed = stream["gather"], stream["raw"], stream["typed"]
    print_table(
        "client instructions per unit (valgrind callgrind; the host's load does not move them)",
        ["contender", "unit", "instructions", "x baseline"],
        [
            ["aiohttp + orjson gather, dicts", "streamed post", round(gather), 1.0],
            ["butter_async, raw=True", "streamed post", round(raw), raw / gather],
            ["butter_async, typed Post", "streamed post", round(typed), typed / gather],
            ["plain aiohttp + semaphore, C=50", "bulk write", round(plain), 1.0],
            ["butter_async BulkWriter, C=50", "bulk write", round(ours), ours / plain],
            ["pages.get on a warm memory cache", "cache hit", round(hit), "-"],
        ],
    )
    print(
        f"  targets (issue #20): CPU per post <= 1.15x the gather loop's: raw "
        f"{raw / gather:.2f}x, typed {typed / gather:.2f}x; "
        f"per bulk write <= 1.1x the bare loop's: {ours / plain:.2f}x"
    )


if __name__ == "__main__":
    main()
