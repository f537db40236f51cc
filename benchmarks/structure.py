"""What decoding into typed models costs, per object and as a share of a page fetch."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import orjson

from butter_async import Author, ButterClient, Page, Post, ResponseValidationError
from butter_async.models.converter import structure
from butter_async.models.decoding import answer_decoder

from .emulator_process import EmulatorProcess, add_pin_option
from .table import print_table

RECORDED = Path(__file__).parent.parent / "tests" / "fixtures" / "recorded"


def recorded_data(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.json").read_text())[0]["body"]["data"]


def per_object_us(function: Any, raw: bytes, count: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(raw)
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def objects(kind: str, count: int) -> tuple[bytes, Any]:
    if kind == "post":
        post = recorded_data("posts__test_post_all")[0]
        return orjson.dumps([dict(post, slug=f"p{i}") for i in range(count)]), list[Post]
    page = recorded_data("pages__test_page_get")
    return orjson.dumps([dict(page, slug=f"p{i}") for i in range(count)]), list[Page]


async def fetch_share(url: str, token: str) -> tuple[float, float]:
    """(seconds to stream every post through the SDK, seconds spent decoding them)."""
    bodies = []
    async with ButterClient(token, base_url=url) as butter:
        started = time.perf_counter()
        async for page in butter.posts.list().pages():
            bodies.append(page)
        total = time.perf_counter() - started
        raw = [
            await butter.transport.get(["posts"], {"page": p, "page_size": 100}, decode=bytes)
            for p in range(1, len(bodies) + 1)
        ]
    decode = answer_decoder(list[Post])
    started = time.perf_counter()
    for body in raw:
        decode(body)
    return total, time.perf_counter() - started


def failing_list_cost(n: int) -> list[object]:
    """Seconds to fail structuring `n` wrong authors, and the size of the message."""
    data = [{"slug": f"a{i}", "first_name": [i]} for i in range(n)]
    started = time.perf_counter()
    try:
        structure(data, list[Author], "data")
    except ResponseValidationError as error:
        message = str(error)
    else:
        raise AssertionError("a list of wrong items structured")
    seconds = time.perf_counter() - started
    return [n, seconds, seconds / n * 1e6, len(message)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--posts", type=int, default=10_000, help="posts for the fetch share")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    add_pin_option(parser)
    args = parser.parse_args(argv)
    count, posts = (300, 1_000) if args.quick else (args.count, args.posts)
    rows = []
    for kind in ("post", "page"):
        raw, model = objects(kind, count)
        stdlib = per_object_us(json.loads, raw, count)
        fast = per_object_us(orjson.loads, raw, count)
        converted = per_object_us(
            lambda body, m=model: structure(orjson.loads(body), m), raw, count
        )
        answer = b'{"data":' + raw + b"}"
        typed = per_object_us(answer_decoder(model), answer, count)
        label = "real-shaped post" if kind == "post" else "component-heavy page"
        rows.append([label, len(raw) // count, stdlib, fast, converted, typed, typed / fast])
    print_table(
        f"decoding cost per object (best of 5, {count:,} objects)",
        [
            "object",
            "bytes",
            "json.loads us",
            "orjson us (dicts)",
            "orjson+cattrs us (fallback)",
            "typed decode us (the SDK)",
            "typed x orjson",
        ],
        rows,
    )
    failing_sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000, 1_000_000)
    print_table(
        "explaining a list answer whose every item is wrong (the error stays bounded)",
        ["items", "seconds", "us per item", "message chars"],
        [failing_list_cost(n) for n in failing_sizes],
    )
    with EmulatorProcess(posts=posts, pin_cores=args.pin_cores) as emu:
        total, structuring = asyncio.run(fetch_share(emu.url, emu.read_token))
    print_table(
        f"share of streaming {posts:,} posts spent decoding them (0 ms latency)",
        ["measure", "seconds", "share"],
        [
            ["stream through the SDK", total, 1.0],
            ["typed decoding alone", structuring, structuring / total],
        ],
    )


if __name__ == "__main__":
    main()
