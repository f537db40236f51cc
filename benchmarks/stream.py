"""Streaming N posts: the official SDK, a plain aiohttp loop, butter_async, the bound."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from collections.abc import Callable

import aiohttp

from butter_async import ButterClient, Post
from butter_async.models.converter import structure
from butter_async.pagination import DEFAULT_PREFETCH

from .emulator_process import EmulatorProcess, add_pin_option
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


async def butter_walk(url: str, token: str, page_size: int, prefetch: int) -> tuple[int, int]:
    """butter_async: typed Post objects from the streaming pager."""
    async with ButterClient(token, base_url=url, prefetch=prefetch) as butter:
        items = 0
        async for _post in butter.posts.list(page_size=page_size):
            items += 1
        return items, butter.stats.requests


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
            page = json.loads(body)["meta"]["next_page"]
    return bodies


def parse_time(bodies: list[bytes]) -> float:
    """Seconds to parse and structure every page as butter_async does."""
    import orjson

    started = time.perf_counter()
    for body in bodies:
        structure(orjson.loads(body)["data"], list[Post])
    return time.perf_counter() - started


def median_of(repeat: int, walk: Callable[[], tuple[int, int]]) -> tuple[float, int, int]:
    """The median wall time of `repeat` walks after one untimed warm-up walk, as pyperf
    does: on the shared VM, the first walk after an idle spell runs up to a third slower."""
    walk()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        items, requests = walk()
        times.append(time.perf_counter() - started)
    return statistics.median(times), items, requests


def run(
    posts: int, page_size: int, latency: float, prefetch: int, repeat: int, pin_cores: bool
) -> dict[str, float]:
    """One latency setting: every contender, then the table. Returns the key ratios."""
    with EmulatorProcess(posts=posts, latency=latency, pin_cores=pin_cores) as emu:
        placement = emu.placement
        url, token = emu.url, emu.read_token
        walks: dict[str, Callable[[], tuple[int, int]]] = {
            "official buttercms-python (sequential)": lambda: official_walk(url, token, page_size),
            "plain aiohttp + json.loads (sequential)": lambda: asyncio.run(
                plain_aiohttp_walk(url, token, page_size)
            ),
            "butter_async, prefetch off": lambda: asyncio.run(
                butter_walk(url, token, page_size, 1)
            ),
            f"butter_async, default (prefetch {prefetch})": lambda: asyncio.run(
                butter_walk(url, token, page_size, prefetch)
            ),
        }
        results = {name: median_of(repeat, walk) for name, walk in walks.items()}
        bodies = asyncio.run(raw_pages(url, token, page_size))
    pages = len(bodies)
    parse = statistics.median(parse_time(bodies) for _ in range(repeat))
    bound = latency * (1 + math.ceil((pages - 1) / prefetch)) + parse
    official = results["official buttercms-python (sequential)"][0]
    plain = results["plain aiohttp + json.loads (sequential)"][0]
    ours = results[f"butter_async, default (prefetch {prefetch})"][0]
    rows = [
        [
            name,
            seconds,
            round(items / seconds),
            requests,
            official / seconds,
            plain / seconds,
            seconds / bound,
        ]
        for name, (seconds, items, requests) in results.items()
    ]
    rows.append(
        [
            "physical bound (latency x rounds + parse)",
            bound,
            round(posts / bound),
            pages,
            official / bound,
            plain / bound,
            1.0,
        ]
    )
    print_table(
        f"stream {posts:,} posts, page_size {page_size}, latency {latency * 1000:.0f} ms"
        f" (median of {repeat} runs after a warm-up)",
        ["contender", "wall s", "items/s", "requests", "x official", "x plain", "/ bound"],
        rows,
    )
    print(f"  {placement}")
    return {
        "vs_official": official / ours,
        "vs_plain_items": plain / ours,
        "vs_bound": ours / bound,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latencies", default="0.05,0", help="seconds, comma-separated")
    parser.add_argument("--prefetch", type=int, default=DEFAULT_PREFETCH)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    add_pin_option(parser)
    args = parser.parse_args(argv)
    posts = 1_000 if args.quick else args.posts
    repeat = 1 if args.quick else args.repeat
    for latency in (float(value) for value in args.latencies.split(",")):
        ratios = run(posts, args.page_size, latency, args.prefetch, repeat, args.pin_cores)
        print(
            "  targets: "
            + (
                f"{ratios['vs_official']:.1f}x faster than official (>= 10), "
                f"{ratios['vs_bound']:.2f}x the bound (<= 1.5)"
                if latency > 0
                else f"{ratios['vs_plain_items']:.2f}x the items/s of plain aiohttp (>= 0.5)"
            )
        )


if __name__ == "__main__":
    main()
