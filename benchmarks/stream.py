"""Streaming N posts: the official SDK, hand-written loops, butter_async, the latency bound."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import attrs
import orjson

from butter_async import ButterClient, Post
from butter_async.models.decoding import answer_decoder
from butter_async.pagination import DEFAULT_PREFETCH

from .emulator_process import EmulatorProcess, add_pin_option, latency_label
from .table import print_table


def official_walk(url: str, token: str, page_size: int) -> tuple[int, int]:
    """The official synchronous SDK, page after page, as its users write it."""
    from butter_cms import ButterCMS  # type: ignore[import-untyped]

    client = ButterCMS(token)
    client.posts.url = url
    items = requests = 0
    page: int | None = 1
    while page:
        response = client.posts.all({"page": page, "page_size": page_size})
        requests += 1
        items += len(response["data"])
        page = response["meta"]["next_page"]
    return items, requests


async def plain_aiohttp_walk(url: str, token: str, page_size: int) -> tuple[int, int]:
    """The hand-written baseline: one session, pages one by one, json.loads."""
    items = requests = 0
    page: int | None = 1
    async with aiohttp.ClientSession() as session:
        while page:
            params: dict[str, str | int] = {
                "page": page,
                "page_size": page_size,
                "auth_token": token,
            }
            async with session.get(url + "posts/", params=params) as response:
                body = json.loads(await response.read())
            requests += 1
            items += len(body["data"])
            page = body["meta"]["next_page"]
    return items, requests


async def butter_walk(
    url: str, token: str, page_size: int, prefetch: int, raw: bool = False
) -> tuple[int, int]:
    """butter_async: typed Post objects (or the API's dicts with `raw=True`) from the pager."""
    async with ButterClient(token, base_url=url, prefetch=prefetch) as butter:
        items = 0
        if raw:
            async for _item in butter.posts.list(page_size=page_size, raw=True):
                items += 1
        else:
            async for _post in butter.posts.list(page_size=page_size):
                items += 1
        return items, butter.stats.requests


def page_count(count: int, page_size: int) -> int:
    return max(1, math.ceil(count / page_size))


async def gather_walk(url: str, token: str, page_size: int, window: int) -> tuple[int, int]:
    """The best loop a user writes by hand: page 1, then pages 2..P at once under a
    semaphore, aiohttp + orjson, dicts. Every page is held until the last arrives."""
    gate = asyncio.Semaphore(window)
    async with aiohttp.ClientSession() as session:

        async def fetch(page: int) -> Any:
            params = {"page": page, "page_size": page_size, "auth_token": token}
            async with gate, session.get(url + "posts/", params=params) as response:
                return orjson.loads(await response.read())

        first = await fetch(1)
        pages = page_count(first["meta"]["count"], page_size)
        rest = await asyncio.gather(*(fetch(page) for page in range(2, pages + 1)))
        items = 0
        for body in (first, *rest):
            for _post in body["data"]:
                items += 1
        return items, pages


async def httpx_gather_walk(url: str, token: str, page_size: int, window: int) -> tuple[int, int]:
    """The same gather loop with httpx (for reference) and orjson."""
    import httpx

    gate = asyncio.Semaphore(window)
    limits = httpx.Limits(max_connections=window, max_keepalive_connections=window)
    async with httpx.AsyncClient(limits=limits) as client:

        async def fetch(page: int) -> Any:
            params = {"page": page, "page_size": page_size, "auth_token": token}
            async with gate:
                response = await client.get(url + "posts/", params=params)
                return orjson.loads(response.content)

        first = await fetch(1)
        pages = page_count(first["meta"]["count"], page_size)
        rest = await asyncio.gather(*(fetch(page) for page in range(2, pages + 1)))
        items = sum(len(body["data"]) for body in (first, *rest))
        return items, pages


async def raw_pages(url: str, token: str, page_size: int) -> list[bytes]:
    """Every page's raw body, to time parsing and structuring alone."""
    bodies = []
    async with aiohttp.ClientSession() as session:
        page: int | None = 1
        while page:
            params: dict[str, str | int] = {
                "page": page,
                "page_size": page_size,
                "auth_token": token,
            }
            async with session.get(url + "posts/", params=params) as response:
                body = await response.read()
            bodies.append(body)
            page = orjson.loads(body)["meta"]["next_page"]
    return bodies


def parse_time(bodies: list[bytes]) -> float:
    """Seconds to decode every page into typed posts as butter_async does."""
    decode = answer_decoder(list[Post])
    started = time.perf_counter()
    for body in bodies:
        decode(body)
    return time.perf_counter() - started


@attrs.frozen
class Measure:
    """The median wall and client CPU seconds of a contender's walks."""

    wall: float
    cpu: float
    items: int
    requests: int


def medians_of(repeat: int, walks: dict[str, Callable[[], tuple[int, int]]]) -> dict[str, Measure]:
    """Each contender's median wall and CPU time over `repeat` rounds, after one untimed
    warm-up walk each, as pyperf does (the first walk after an idle spell runs slower).

    A round walks every contender once, starting one further along each round, so a
    slow spell of the shared VM falls on all of them rather than on whichever ran then.
    """
    for walk in walks.values():
        walk()
    names = list(walks)
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    counts: dict[str, tuple[int, int]] = {}
    for round_ in range(repeat):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            gc.collect()
            cpu_started, started = time.process_time(), time.perf_counter()
            counts[name] = walks[name]()
            walls[name].append(time.perf_counter() - started)
            cpus[name].append(time.process_time() - cpu_started)
    return {
        name: Measure(statistics.median(walls[name]), statistics.median(cpus[name]), *counts[name])
        for name in names
    }


GATHER = "aiohttp + orjson gather, dicts (best hand loop)"
OURS = "butter_async, default (typed Post)"
RAW = "butter_async, raw=True (dicts)"


def contenders(
    url: str, token: str, posts: int, page_size: int, prefetch: int, sequential: bool
) -> dict[str, Callable[[], tuple[int, int]]]:
    """Every walk to time; the sequential ones only where they finish in reasonable time."""
    walks: dict[str, Callable[[], tuple[int, int]]] = {}
    if sequential:
        walks["official buttercms-python (sequential)"] = lambda: official_walk(
            url, token, page_size
        )
        walks["plain aiohttp + json.loads (sequential)"] = lambda: asyncio.run(
            plain_aiohttp_walk(url, token, page_size)
        )
        walks["butter_async, prefetch off"] = lambda: asyncio.run(
            butter_walk(url, token, page_size, 1)
        )
    walks[GATHER] = lambda: asyncio.run(gather_walk(url, token, page_size, prefetch))
    walks["httpx + orjson gather, dicts"] = lambda: asyncio.run(
        httpx_gather_walk(url, token, page_size, prefetch)
    )
    walks[OURS] = lambda: asyncio.run(butter_walk(url, token, page_size, prefetch))
    walks[RAW] = lambda: asyncio.run(butter_walk(url, token, page_size, prefetch, raw=True))
    return walks


def run(
    posts: int,
    page_size: int,
    latency: float,
    jitter: float,
    prefetch: int,
    repeat: int,
    pin_cores: bool,
) -> dict[str, float]:
    """One setting: every contender, then the table. Returns the key ratios."""
    sequential = posts <= SEQUENTIAL_MAX_POSTS
    with EmulatorProcess(posts=posts, latency=latency, jitter=jitter, pin_cores=pin_cores) as emu:
        placement = emu.placement
        walks = contenders(emu.url, emu.read_token, posts, page_size, prefetch, sequential)
        results = medians_of(repeat, walks)
        bodies = asyncio.run(raw_pages(emu.url, emu.read_token, page_size))
    pages = len(bodies)
    parse = statistics.median(parse_time(bodies) for _ in range(repeat))
    bound = latency * (1 + math.ceil((pages - 1) / prefetch))
    gather, ours, raw = results[GATHER], results[OURS], results[RAW]
    official = results.get("official buttercms-python (sequential)")
    rows = [
        [
            name,
            measure.wall,
            round(measure.items / measure.wall),
            measure.requests,
            measure.cpu / measure.items * 1e6,
            gather.wall / measure.wall,
            "-" if official is None else official.wall / measure.wall,
            "-" if bound == 0 else measure.wall / bound,
        ]
        for name, measure in results.items()
    ]
    rows.append(["latency bound L x (1 + ceil((P-1)/W))", bound, "-", pages, "-", "-", "-", 1.0])
    print_table(
        f"stream {posts:,} posts, page_size {page_size}, latency {latency_label(latency, jitter)},"
        f" window {prefetch} (median of {repeat} interleaved rounds after a warm-up)",
        [
            "contender",
            "wall s",
            "items/s",
            "requests",
            "CPU us/item",
            "x gather",
            "x official",
            "/ bound",
        ],
        rows,
    )
    print(
        f"  parse + structure alone (not in the bound): {parse:.3f} s, "
        f"{parse / posts * 1e6:.1f} us/post"
    )
    print(f"  {placement}")
    return {
        "vs_gather": gather.wall / ours.wall,
        "cpu_vs_gather": ours.cpu / gather.cpu,
        "raw_vs_gather": gather.wall / raw.wall,
        "raw_cpu_vs_gather": raw.cpu / gather.cpu,
        "vs_official": 0.0 if official is None else official.wall / ours.wall,
        "vs_bound": 0.0 if bound == 0 else ours.wall / bound,
    }


SEQUENTIAL_MAX_POSTS = 10_000
"""Above this, the sequential contenders (minutes per walk at 50 ms) are left out."""


def settings(args: argparse.Namespace) -> list[tuple[int, float, float]]:
    """(posts, latency, jitter) of every table to print."""
    sizes = [int(value) for value in args.posts.split(",")]
    latencies = [float(value) for value in args.latencies.split(",")]
    chosen = [(posts, latency, 0.0) for posts in sizes for latency in latencies]
    if args.jitter:
        chosen += [(posts, args.jitter_latency, args.jitter) for posts in sizes]
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", default="10000", help="list sizes, comma-separated")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latencies", default="0.05,0", help="seconds, comma-separated")
    parser.add_argument(
        "--jitter", type=float, default=0.04, help="spread of the jittered table (0: none)"
    )
    parser.add_argument("--jitter-latency", type=float, default=0.05)
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="the full matrix: 10k and 100k posts at 0, 20, 50 and 100 ms and jittered",
    )
    parser.add_argument("--prefetch", type=int, default=DEFAULT_PREFETCH)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.matrix:
        args.posts, args.latencies = "10000,100000", "0,0.02,0.05,0.1"
    if args.quick:
        args.posts, args.repeat = "1000", 1
    for posts, latency, jitter in settings(args):
        ratios = run(
            posts, args.page_size, latency, jitter, args.prefetch, args.repeat, args.pin_cores
        )
        official = (
            f"{ratios['vs_official']:.1f}x faster than official (>= 10); "
            if ratios["vs_official"] and latency > 0
            else ""
        )
        print(
            f"  targets: {official}speed vs the gather loop (>= 1.0): typed "
            f"{ratios['vs_gather']:.2f}x, raw {ratios['raw_vs_gather']:.2f}x; "
            f"CPU per post vs the gather loop's (<= 1.15): typed "
            f"{ratios['cpu_vs_gather']:.2f}x, raw {ratios['raw_cpu_vs_gather']:.2f}x"
        )


if __name__ == "__main__":
    main()
