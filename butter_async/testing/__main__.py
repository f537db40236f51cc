"""`python -m butter_async.testing`: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .emulator import Emulator
from .seed import SeedSpec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the emulator server."""
    parser = argparse.ArgumentParser(
        prog="python -m butter_async.testing", description="Serve a local ButterCMS API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--posts", type=int, default=100, help="generated blog posts")
    parser.add_argument("--pages", type=int, default=100, help="generated pages of type 'recipe'")
    parser.add_argument("--items", type=int, default=100, help="generated 'products' items")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument("--read-token", default="emulator-read-token")
    parser.add_argument("--write-token", default="emulator-write-token")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the emulator until cancelled."""
    spec = SeedSpec(posts=args.posts, pages=args.pages, collection_items=args.items)
    async with Emulator(
        seed=spec,
        host=args.host,
        port=args.port,
        read_token=args.read_token,
        write_token=args.write_token,
        latency=args.latency,
        rate_limit=args.rate_limit,
    ) as emulator:
        print(f"ButterCMS emulator at {emulator.url}")
        print(f"  read token:  {emulator.read_token}")
        print(f"  write token: {emulator.write_token}")
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
