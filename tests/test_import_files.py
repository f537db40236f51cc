"""Import and export files mean exactly what they say: duplicates and inexact numbers are refused,
every invalid line is reported or skipped, and the printed resume command works."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from butter_async.cli.imports import EXIT_SKIPPED_INVALID
from butter_async.jobs.imports import SHOWN_INVALID_LINES
from butter_async.testing import Emulator, SeedSpec, emulator_in_thread

from .conftest import finished_in
from .test_cli import cli, lines

ROOT = Path(__file__).parent.parent


@pytest.fixture
def target() -> Iterator[Emulator]:
    with emulator_in_thread(seed=SeedSpec(pages=1)) as emu:
        yield emu


def writes(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method != "GET")


def source_file(tmp_path: Path, *rows: object | bytes) -> Path:
    path = tmp_path / "input.jsonl"
    path.write_bytes(
        b"".join((row if isinstance(row, bytes) else orjson.dumps(row)) + b"\n" for row in rows)
    )
    return path


def recipe(slug: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "headline": slug, "servings": 2, "hero_image": "", "ingredients": [],
        "seo": {"title": slug, "description": ""}, "sections": [],
    }  # fmt: skip
    return {"slug": slug, "title": slug, "fields": {**base, **fields}}


def test_two_lines_with_one_slug_are_both_reported_and_nothing_is_sent(
    target: Emulator, tmp_path: Path
) -> None:
    source = source_file(tmp_path, recipe("soup"), recipe("stew"), recipe("soup", servings=4))
    result = cli(target, "import", "pages", str(source), "--page-type", "recipe")
    assert result.exit_code == 2
    assert f"{source}:1: slug: also on line 3" in result.output
    assert f"{source}:3: slug: also on line 1" in result.output
    assert writes(target) == 0


def test_skip_invalid_leaves_out_both_lines_of_a_duplicate(
    target: Emulator, tmp_path: Path
) -> None:
    source = source_file(tmp_path, recipe("soup"), recipe("stew"), recipe("soup", servings=4))
    result = cli(target, "import", "pages", str(source), "--page-type", "recipe", "--skip-invalid")
    assert result.exit_code == EXIT_SKIPPED_INVALID
    assert "stew" in target.store.page_slugs() and "soup" not in target.store.page_slugs()
    rejected = lines(tmp_path / "input.jsonl.invalid.jsonl")
    assert [row["line"] for row in rejected] == [1, 3]
    assert all(row["item"]["slug"] == "soup" for row in rejected)  # type: ignore[index]


def test_an_integer_beyond_64_bits_is_refused_naming_its_field(
    target: Emulator, tmp_path: Path
) -> None:
    big = b"12345678901234567890123"
    line = orjson.dumps(recipe("soup")).replace(b'"servings":2', b'"servings":' + big)
    source = source_file(tmp_path, line)
    result = cli(target, "import", "pages", str(source), "--page-type", "recipe")
    assert result.exit_code == 2
    assert f"{source}:1: fields.servings: the integer {big.decode()} does not fit" in result.output
    assert writes(target) == 0


def test_numbers_within_64_bits_and_long_digit_strings_pass_exactly(
    target: Emulator, tmp_path: Path
) -> None:
    row = recipe("soup", servings=2**64 - 1, headline="1234567890123456789012345")
    source = source_file(tmp_path, row)
    result = cli(target, "import", "pages", str(source), "--page-type", "recipe")
    assert result.exit_code == 0, result.output
    stored = target.store.page("soup").fields[None]
    assert stored["servings"] == 2**64 - 1
    assert stored["headline"] == "1234567890123456789012345"


def test_skip_invalid_skips_lines_that_are_not_json_or_not_objects(
    target: Emulator, tmp_path: Path
) -> None:
    source = source_file(tmp_path, recipe("one"), b"{not json", b"[1, 2]", b'"text"', recipe("two"))
    result = cli(target, "import", "pages", str(source), "--page-type", "recipe", "--skip-invalid")
    assert result.exit_code == EXIT_SKIPPED_INVALID, result.output
    assert {"one", "two"} <= set(target.store.page_slugs())
    rejected = lines(tmp_path / "input.jsonl.invalid.jsonl")
    assert [(row["line"], row["text"]) for row in rejected] == [
        (2, "{not json"), (3, "[1, 2]"), (4, '"text"'),
    ]  # fmt: skip


def test_without_the_flag_every_invalid_line_is_reported_up_to_a_limit(
    target: Emulator, tmp_path: Path
) -> None:
    rows: list[object] = [recipe("fine")]
    rows += [b"{broken"] * 3 + [{"slug": f"bad {i}", "title": "x"} for i in range(40)]
    source = source_file(tmp_path, *rows)
    result = cli(target, "import", "pages", str(source), "--page-type", "recipe")
    assert result.exit_code == 2
    assert f"{source}:2: not valid JSON" in result.output
    assert f"{source}:4: not valid JSON" in result.output
    assert f"{source}:5: " in result.output
    named = [line for line in result.output.splitlines() if f"{source}:" in line]
    assert len(named) == SHOWN_INVALID_LINES
    assert f"and {43 - SHOWN_INVALID_LINES} more invalid line(s)" in result.output
    assert writes(target) == 0


async def test_the_printed_resume_command_of_a_collection_import_works(tmp_path: Path) -> None:
    n = 300
    source = tmp_path / "items.jsonl"
    source.write_bytes(
        b"".join(orjson.dumps({"fields": {"name": f"item {i:04d}"}}) + b"\n" for i in range(n))
    )
    journal = tmp_path / "items.jsonl.journal"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    async with Emulator(write_latency=0.02, collections={"things": ["name"]}) as emu:
        env.update(BUTTER_READ_TOKEN=emu.read_token, BUTTER_WRITE_TOKEN=emu.write_token)
        command = [sys.executable, "-m", "butter_async", "import", "collection", str(source)]
        command += ["--collection", "things", "--base-url", emu.url, "--concurrency", "4"]
        job = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        while finished_in(journal) < 40:  # noqa: ASYNC110  (another process writes it)
            await asyncio.sleep(0.01)
        job.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(job.communicate(), 30)
        assert job.returncode == 130, err
        assert not (tmp_path / "items.jsonl.failed.jsonl").exists()  # nothing failed
        resume = err.decode().split("resume with:\n")[1].strip()
        again = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "butter_async", *resume.split()[1:],
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(again.communicate(), 60)
        assert again.returncode == 0, err.decode()
        names = sorted(item.fields[None]["name"] for item in emu.store.items["things"].values())
    assert names == [f"item {i:04d}" for i in range(n)]  # every item once


BIG = 12345678901234567890123
PAGE_ANSWER = (
    b'{"meta": {"next_page": null, "previous_page": null, "count": 1}, "data": [{'
    b'"slug": "big", "name": "Big", "published": "2024-05-17T14:14:41Z", '
    b'"updated": "2024-05-17T14:14:41Z", "page_type": "recipe", '
    b'"fields": {"servings": ' + str(BIG).encode() + b', "ratio": 0.5}}]}'
)


async def test_an_integer_beyond_64_bits_is_read_and_exported_exactly(tmp_path: Path) -> None:
    from aiohttp import web

    from butter_async import ButterClient

    from .conftest import serving

    async def pages(_request: web.Request) -> web.Response:
        return web.Response(body=PAGE_ANSWER, content_type="application/json")

    output = tmp_path / "pages.jsonl"
    async with serving(pages) as url:
        async with ButterClient("read-token-0123456789", base_url=url) as butter:
            (page,) = await butter.pages.list("recipe").collect()
            assert page.fields["servings"] == BIG and isinstance(page.fields["servings"], int)
        export = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "butter_async", "export", "pages", "recipe",
            "-o", str(output), "--base-url", url,
            env={**os.environ, "PYTHONPATH": str(ROOT), "BUTTER_READ_TOKEN": "read-token-0123"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(export.communicate(), 60)
    assert export.returncode == 0, err.decode()
    (line,) = output.read_bytes().splitlines()
    assert f'"servings":{BIG}'.encode() in line and b'"ratio":0.5' in line
