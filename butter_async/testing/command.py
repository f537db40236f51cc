"""The emulator's command line: `butter-async emulator` and `python -m butter_async.testing`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any

import orjson

from .emulator import DEFAULT_READ_TOKEN, DEFAULT_WRITE_TOKEN, Emulator
from .faults import Fault, jittered
from .seed import SeedSpec
from .store import SchemaFields, schema_kinds
from .webhook_sender import WebhookTarget


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless its help already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if action.default in (None, []) or "default" in help_text:
            return help_text
        return super()._get_help_string(action)


def parse_args(
    argv: list[str] | None = None, prog: str = "python -m butter_async.testing"
) -> argparse.Namespace:
    """The command line of the emulator server."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local ButterCMS API emulator until interrupted.",
        epilog="Tokens: this command serves fixed tokens (shown above as defaults, or "
        "those given), so scripts can rely on them; Emulator() in Python makes random "
        "ones, read from emu.read_token and emu.write_token. The schema file is JSON: "
        '{"page_types": {"recipe": {"headline": "text", "servings": "number"}}, '
        '"collections": {"products": ["name", "sku"]}}, field kinds text, number, '
        "media, reference, repeater, component, component_picker (a list of keys: all "
        "text); `butter-async schema export` writes one from an account's content.",
        formatter_class=_HelpWithDefaults,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--posts", type=int, default=100, help="generated blog posts")
    parser.add_argument("--pages", type=int, default=100, help="generated pages of type 'recipe'")
    parser.add_argument("--items", type=int, default=100, help="generated 'products' items")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each read")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="seconds of uniform spread around --latency and --write-latency (seeded)",
    )
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
        help="test knob, not ButterCMS behaviour: requests per second, above it 429 "
        "with Retry-After",
    )
    parser.add_argument(
        "--rate-limit-kind",
        choices=["bucket", "window"],
        default="bucket",
        help="a token bucket (bursts up to one second's worth) or a sliding one-second "
        "window (429 with Retry-After: 1 once the window holds --rate-limit requests)",
    )
    parser.add_argument(
        "--quota",
        type=int,
        default=None,
        help="API calls before every request answers 429 'API Calls limit reached.' with "
        "Retry-After until the next month, as a spent Free/Trial monthly quota does",
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
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST the documented webhook of every applied write to URL (repeatable)",
    )
    parser.add_argument(
        "--webhook-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a custom header sent with every webhook, e.g. a shared secret (repeatable)",
    )
    parser.add_argument(
        "--schema",
        type=Path,
        default=None,
        metavar="FILE",
        help="declare page types and collections (with field kinds) from a JSON file",
    )
    parser.add_argument("--read-token", default=DEFAULT_READ_TOKEN, help="the read token")
    parser.add_argument("--write-token", default=DEFAULT_WRITE_TOKEN, help="the write token")
    args = parser.parse_args(argv)
    for header in args.webhook_header:
        if ":" not in header or not header.partition(":")[0].strip():
            parser.error(f"--webhook-header wants NAME:VALUE, got {header!r}")
    if args.schema is not None:
        try:
            args.schema = read_schema(args.schema)
        except ValueError as error:
            parser.error(str(error))
    return args


def read_schema(path: Path) -> dict[str, dict[str, SchemaFields]]:
    """A schema file's page types and collections, checked; ValueError says what is wrong."""
    schema = read_schema_file(path)
    return {part: schema[part] for part in ("page_types", "collections")}


def read_schema_file(path: Path) -> dict[str, Any]:
    """A whole schema file, checked: `page_types` and `collections` (the emulator's) and
    `types` (what `schema export` saw of each field, for `types generate`), each an object
    (empty when absent); ValueError says what is wrong."""
    try:
        schema = orjson.loads(path.read_bytes())
    except OSError as error:
        raise ValueError(f"cannot read the schema file {path}: {error.strerror}") from None
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None
    # `types` (what `schema export` saw of each field, for `types generate`) is not the
    # emulator's: it declares kinds from `page_types` and `collections` only.
    if not isinstance(schema, dict) or not set(schema) <= {"page_types", "collections", "types"}:
        raise ValueError(f"{path}: want an object with 'page_types' and 'collections'")
    checked: dict[str, Any] = {}
    kept = schema.get("types") or {}
    if not isinstance(kept, dict) or not all(isinstance(v, dict) for v in kept.values()):
        raise ValueError(f"{path}: types must be an object, as schema export writes it")
    checked["types"] = kept
    for part in ("page_types", "collections"):
        declared = schema.get(part) or {}
        if not isinstance(declared, dict):
            raise ValueError(f"{path}: {part} must be an object of name -> fields")
        for name, fields in declared.items():
            try:
                schema_kinds(fields)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}: {part}.{name}: {error}") from None
        checked[part] = declared
    return checked


def webhook_targets(args: argparse.Namespace) -> list[WebhookTarget]:
    """The --webhook targets, each with every --webhook-header."""
    headers = {}
    for header in args.webhook_header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    return [WebhookTarget(url, headers=headers) for url in args.webhook]


async def serve(args: argparse.Namespace) -> None:
    """Run the emulator until cancelled; the first line printed is its URL."""
    faults = [Fault("status", status=503, probability=args.fault_rate)] if args.fault_rate else []
    async with Emulator(
        seed=SeedSpec(posts=args.posts, pages=args.pages, collection_items=args.items),
        host=args.host,
        port=args.port,
        read_token=args.read_token,
        write_token=args.write_token,
        latency=jittered(args.latency, args.jitter),
        write_latency=(
            None if args.write_latency is None else jittered(args.write_latency, args.jitter, 1)
        ),
        rate_limit=args.rate_limit,
        rate_limit_kind=args.rate_limit_kind,
        quota=args.quota,
        webhooks=webhook_targets(args),
        fractional_retry_after=args.fractional_retry_after,
        processing_delay=args.processing_delay,
        faults=faults,
        page_types=(args.schema or {}).get("page_types"),
        collections=(args.schema or {}).get("collections"),
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
