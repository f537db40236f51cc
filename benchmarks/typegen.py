"""Generating classes from the content against streaming it: `types generate` reads every
page once, so it should take about as long as streaming them, in memory that does not
grow with the pages."""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from pathlib import Path
from tempfile import TemporaryDirectory

from butter_async import ButterClient
from butter_async.typed import PageType
from butter_async.typegen.drift import load_module
from butter_async.typegen.generate import module_text, read_content

from .emulator_process import EmulatorProcess, add_pin_option
from .table import print_table


async def stream(url: str, token: str) -> float:
    """Seconds to stream every recipe page as dicts (the baseline)."""
    async with ButterClient(token, base_url=url) as butter:
        started = time.perf_counter()
        async for _ in butter.pages.list("recipe", preview=True):
            pass
        return time.perf_counter() - started


async def generate(url: str, token: str, *, traced: bool = False) -> tuple[float, int, str]:
    """(seconds to read every page and write the module, peak traced bytes when `traced`
    (tracing slows it: time and memory come from separate runs), its text)."""
    async with ButterClient(token, base_url=url) as butter:
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        types = await read_content(butter, ["recipe"], [])
        text = module_text(types, butter.account_fingerprint)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        tracemalloc.stop()
        return seconds, peak, text


async def typed_stream(url: str, token: str, text: str) -> float:
    """Seconds to stream every page through the generated class."""
    with TemporaryDirectory() as folder:
        path = Path(folder) / "content_types.py"
        path.write_text(text)
        module = load_module(path)
    async with ButterClient(token, base_url=url) as butter:
        recipes = PageType(butter, "recipe", module.Recipe)
        started = time.perf_counter()
        async for _ in recipes.list(preview=True):
            pass
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02, help="of the last row (s)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    add_pin_option(parser)
    args = parser.parse_args(argv)
    sizes = (500, 2_000) if args.quick else (1_000, args.pages)
    cells = [(pages, 0.0) for pages in sizes] + [(sizes[-1], args.latency)]
    rows = []
    for pages, latency in cells:
        with EmulatorProcess(pages=pages, latency=latency, pin_cores=args.pin_cores) as emu:
            baseline = min(asyncio.run(stream(emu.url, emu.read_token)) for _ in range(3))
            runs = [asyncio.run(generate(emu.url, emu.read_token)) for _ in range(3)]
            seconds, text = min(run[0] for run in runs), runs[0][2]
            peak = asyncio.run(generate(emu.url, emu.read_token, traced=True))[1]
            typed = min(asyncio.run(typed_stream(emu.url, emu.read_token, text)) for _ in range(3))
        rows.append(
            [
                pages,
                latency * 1000,
                baseline,
                seconds,
                seconds / baseline,
                typed,
                typed / baseline,
                peak / 1e6,
            ]
        )
    print_table(
        "types generate against streaming the same pages (best of 3)",
        [
            "pages",
            "latency ms",
            "stream s",
            "generate s",
            "x stream",
            "typed stream s",
            "x stream",
            "generate peak MB (traced)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
