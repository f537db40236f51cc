"""`python -m butter_async.testing` (and `butter-async emulator`): serve the emulator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from .emulator import Emulator
from .faults import Fault
from .seed import SeedSpec


def parse_args(
    argv: list[str] | None = None, prog: str = "python -m butter_async.testing"
) -> argparse.Namespace:
    """The command line of the emulator server."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local ButterCMS API emulator until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--posts", type=int, default=100, help="generated blog posts")
    parser.add_argument("--pages", type=int, default=100, help="generated pages of type 'recipe'")
    parser.add_argument("--items", type=int, default=100, help="generated 'products' items")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each read")
    parser.add_argument(
        "--write-latency",
        type=float,
        default=None,
        help="seconds added to each write (default: --latency)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        help="requests per second; above it 429 with Retry-After",
    )
    parser.add_argument(
        "--fractional-retry-after",
        action="store_true",
        help="send Retry-After with millisecond precision",
    )
    parser.add_argument(
        "--processing-delay",
        type=float,
        default=0.0,
        help="seconds before an accepted write becomes readable",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests answered 503 (seeded)"
    )
    parser.add_argument("--read-token", default="emulator-read-token")
    parser.add_argument("--write-token", default="emulator-write-token")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the emulator until cancelled; the first line printed is its URL."""
    faults = [Fault("status", status=503, probability=args.fault_rate)] if args.fault_rate else []
    async with Emulator(
        seed=SeedSpec(posts=args.posts, pages=args.pages, collection_items=args.items),
        host=args.host,
        port=args.port,
        read_token=args.read_token,
        write_token=args.write_token,
        latency=args.latency,
        write_latency=args.write_latency,
        rate_limit=args.rate_limit,
        fractional_retry_after=args.fractional_retry_after,
        processing_delay=args.processing_delay,
        faults=faults,
    ) as emulator:
        print(f"ButterCMS emulator at {emulator.url} (Ctrl-C to stop)", flush=True)
        print(f"  read token:  {emulator.read_token}", flush=True)
        print(f"  write token: {emulator.write_token}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None, prog: str = "python -m butter_async.testing") -> None:
    """Entry point."""
    args = parse_args(argv, prog)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])
