"""CPU per bulk write of this tree against another revision's, measured in the same rounds.

`python -m benchmarks.against REV [--processes 5] [--rounds 6]` loads REV's `butter_async`
beside this tree's under another name. Each round runs REV's BulkWriter, this tree's and
the bare aiohttp loop against one emulator, in rotating order. Separate processes' medians
sit up to 10% apart here, so a change worth a percent or two cannot be told from noise
between runs; the ratio of the two trees within each round can.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import butter_async

from .bulk_contenders import bench_slug, page_fields, plain_aiohttp_bulk
from .emulator_process import EmulatorProcess, add_pin_option
from .host import child_environment
from .table import print_table

ROOT = Path(__file__).parent.parent
BASE_NAME = "butter_async_base"
#: Who runs first, second and third in a round, in turn.
ORDERS = [("base", "this", "bare"), ("this", "bare", "base"), ("bare", "base", "this")]


def extract(revision: str, into: Path) -> None:
    """Write REV's package into `into` as `butter_async_base`; it must import itself
    relatively, as this tree does, to load under another name."""
    archive = subprocess.run(
        ["git", "archive", revision, "butter_async"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    package = into / "butter_async"
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            named = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                named = [node.module or ""]
            if any(name.split(".")[0] == "butter_async" for name in named):
                raise SystemExit(f"{revision}: {source.name} imports butter_async by name")
    package.rename(into / BASE_NAME)


async def tree_bulk(
    package: ModuleType, url: str, read: str, write: str, n: int, concurrency: int, prefix: str
) -> float:
    """Client CPU seconds of `package`'s bulk_run over `n` page creates."""
    create_page = importlib.import_module(f"{package.__name__}.operations").CreatePage
    retry = package.RetryPolicy(max_retries=20, retry_after_cap=5)
    async with package.ButterClient(read, write, base_url=url, retry=retry) as butter:
        inputs = (
            create_page("recipe", bench_slug(prefix, i), f"Bench {i}", page_fields(i))
            for i in range(n)
        )
        cpu = time.process_time()
        report = await butter.bulk_run(inputs, concurrency=concurrency)
        spent = time.process_time() - cpu
    if report.counts.get("created") != n:
        raise RuntimeError(f"{package.__name__} created {report.counts.get('created')} of {n}")
    return spent


def rounds_in_process(base_dir: str, n: int, latency: float, rounds: int, pin: bool) -> None:
    """Print each round's (REV / bare, this tree / bare) CPU ratios as JSON."""
    sys.path.insert(0, base_dir)
    trees = {"base": importlib.import_module(BASE_NAME), "this": butter_async}
    ratios: list[tuple[float, float]] = []
    with EmulatorProcess(pages=1, latency=latency, pin_cores=pin) as emu:
        for run in range(rounds + 1):
            tag = f"ab{time.time_ns()}"
            cpu: dict[str, float] = {}
            for who in ORDERS[run % 3]:
                if who == "bare":
                    bare = plain_aiohttp_bulk(emu.url, emu.write_token, n, 50, tag + who)
                    cpu[who] = asyncio.run(bare)[1]
                else:
                    tree = tree_bulk(
                        trees[who], emu.url, emu.read_token, emu.write_token, n, 50, tag + who
                    )
                    cpu[who] = asyncio.run(tree)
            if run > 0:  # the first round warms up
                ratios.append((cpu["base"] / cpu["bare"], cpu["this"] / cpu["bare"]))
    print(json.dumps(ratios))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revision", nargs="?", default="HEAD", help="the tree to compare with")
    parser.add_argument("--n", type=int, default=5_000, help="writes per contender a round")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6, help="rounds per process")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    add_pin_option(parser)
    args = parser.parse_args(argv)
    if args.inner:
        rounds_in_process(args.inner, args.n, 0.02, args.rounds, args.pin_cores)
        return
    per_process: list[list[list[float]]] = []
    with tempfile.TemporaryDirectory() as base_dir:
        extract(args.revision, Path(base_dir))
        for _ in range(args.processes):
            command = [sys.executable, "-m", "benchmarks.against", "--inner", base_dir]
            command += ["--n", str(args.n), "--rounds", str(args.rounds)]
            command += [] if args.pin_cores else ["--no-pin"]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env=child_environment(),
            )
            per_process.append(json.loads(done.stdout.strip().splitlines()[-1]))
    rows = []
    for i, ratios in enumerate([*per_process, [r for rs in per_process for r in rs]]):
        label = i + 1 if i < len(per_process) else "all rounds"
        base = statistics.median(r[0] for r in ratios)
        this = statistics.median(r[1] for r in ratios)
        rows.append([label, base, this, statistics.median(r[1] / r[0] for r in ratios)])
    print_table(
        f"client CPU per bulk write against the bare loop, 20 ms, C=50, {args.n:,} writes a "
        f"round: {args.revision} and this tree in the same rounds",
        ["process", f"{args.revision} / bare", "this tree / bare", "this tree / revision"],
        rows,
    )


if __name__ == "__main__":
    main()
