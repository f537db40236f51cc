"""The `butter-async` command line against emulators served from background threads."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from butter_async.cli import main
from butter_async.testing import Emulator, Fault, SeedSpec, WebhookTarget, emulator_in_thread
from butter_async.testing.command import parse_args, webhook_targets


@pytest.fixture
def source() -> Iterator[Emulator]:
    with emulator_in_thread(seed=SeedSpec(posts=120, pages=45, collection_items=30)) as emu:
        yield emu


@pytest.fixture
def target() -> Iterator[Emulator]:
    with emulator_in_thread(seed=SeedSpec(pages=1)) as emu:
        yield emu


def cli(emu: Emulator, *args: str, write: bool = True) -> Result:
    env = {"BUTTER_READ_TOKEN": emu.read_token, "BUTTER_BASE_URL": emu.url}
    if write:
        env["BUTTER_WRITE_TOKEN"] = emu.write_token
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def cli_stdout(emu: Emulator, *args: str) -> str:
    """What a command writes to standard output alone (click 8.1's runner mixes standard
    error into `stdout` unless told not to; 8.2's keeps them apart)."""
    separate = "mix_stderr" in inspect.signature(CliRunner).parameters
    runner = CliRunner(mix_stderr=False) if separate else CliRunner()  # type: ignore[call-arg, unused-ignore]
    env = {"BUTTER_READ_TOKEN": emu.read_token, "BUTTER_BASE_URL": emu.url}
    result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_posts_round_trip_between_two_accounts(
    source: Emulator, target: Emulator, tmp_path: Path
) -> None:
    exported = tmp_path / "posts.jsonl"
    result = cli(source, "export", "posts", "--preview", "-o", str(exported))
    assert result.exit_code == 0, result.output
    assert "exported 121 posts" in result.output
    assert len(lines(exported)) == 121

    result = cli(target, "import", "posts", str(exported), "--concurrency", "8")
    assert result.exit_code == 0, result.output
    assert "121 operations" in result.output
    assert "already_existed 1" in result.output  # the example post both accounts have

    def content(emu: Emulator) -> dict[str, tuple[object, ...]]:
        return {
            slug: (
                record.data["title"],
                record.data["body"],
                record.status,
                record.data["author"]["slug"],
                sorted(tag["slug"] for tag in record.data["tags"]),
            )
            for slug, record in emu.store.posts.items()
        }

    assert content(target) == content(source)


def test_pages_and_collection_round_trip(
    source: Emulator, target: Emulator, tmp_path: Path
) -> None:
    pages = tmp_path / "recipes.jsonl"
    assert cli(source, "export", "pages", "recipe", "-o", str(pages)).exit_code == 0
    result = cli(target, "import", "pages", str(pages), "--status", "published")
    assert result.exit_code == 0, result.output
    for (_, slug), record in source.store.pages.items():
        if record.page_type == "recipe":
            assert target.store.page(slug).fields == record.fields
    items = tmp_path / "products.jsonl"
    assert cli(source, "export", "collection", "products", "-o", str(items)).exit_code == 0
    target.store.collections["products"] = source.store.collections["products"]
    target.store.items["products"] = {}
    result = cli(
        target,
        "import",
        "collection",
        str(items),
        "--collection",
        "products",
        "--status",
        "published",
    )
    assert result.exit_code == 0, result.output
    skus = sorted(i.fields[None]["sku"] for i in target.store.items["products"].values())
    assert skus == sorted(i.fields[None]["sku"] for i in source.store.items["products"].values())


def test_export_filters_and_stdout(source: Emulator) -> None:
    stdout = cli_stdout(source, "export", "pages", "recipe", "--fields", "servings=3")
    exported = [orjson.loads(line) for line in stdout.splitlines()]
    assert exported and all(page["fields"]["servings"] == 3 for page in exported)


def test_export_resume_continues_without_duplicates(source: Emulator, tmp_path: Path) -> None:
    output = tmp_path / "posts.jsonl"
    source.faults.add(Fault("status", path="posts/", params={"page": "2"}, status=500, times=1))
    result = CliRunner().invoke(
        main,
        ["export", "posts", "-o", str(output)],
        env={"BUTTER_READ_TOKEN": source.read_token, "BUTTER_BASE_URL": source.url},
    )
    assert result.exit_code == 1
    assert "HTTP 500" in result.output and "Traceback" not in result.output
    assert len(lines(output)) == 100
    result = cli(source, "export", "posts", "-o", str(output), "--resume")
    assert result.exit_code == 0, result.output
    slugs = [line["slug"] for line in lines(output)]
    assert len(slugs) == 121 and len(set(slugs)) == 121
    assert not output.with_name("posts.jsonl.cursor").exists()


def test_malformed_line_is_a_one_line_error_and_nothing_is_sent(
    target: Emulator, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"slug": "a", "title": "A"}\n\n{"slug": "b", "title":\n')
    result = cli(target, "import", "posts", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3: not valid JSON" in result.output
    assert "Traceback" not in result.output
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"slug": "a"}\n')
    result = cli(target, "import", "posts", str(missing))
    assert result.exit_code == 2 and f"{missing}:1: title: is required" in result.output
    assert target.requests == []


def test_unknown_page_type_and_missing_tokens(target: Emulator, tmp_path: Path) -> None:
    pages = tmp_path / "pages.jsonl"
    pages.write_text('{"slug": "a", "title": "A", "page_type": "nope", "fields": {}}\n')
    result = cli(target, "import", "pages", str(pages))
    assert result.exit_code == 2 and "the target has no page type 'nope'" in result.output
    result = cli(target, "import", "pages", str(pages), write=False)
    assert result.exit_code == 2 and "write token" in result.output
    result = CliRunner().invoke(main, ["export", "posts"], env={"BUTTER_READ_TOKEN": ""})
    assert result.exit_code == 2 and "read token is required" in result.output


def test_failed_items_are_written_for_a_second_pass(target: Emulator, tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        '{"slug": "ok", "title": "OK"}\n'
        '{"slug": "ghost", "title": "Ghost", "author": {"slug": "ghost-writer"}}\n'
    )
    # A missing author is found before the first write, as --dry-run finds it.
    refused = cli(target, "import", "posts", str(posts), "--journal", str(tmp_path / "j.jsonl"))
    assert refused.exit_code == 2 and "no author 'ghost-writer'" in refused.output
    assert not [r for r in target.requests if r.method != "GET"]
    target.store.authors["ghost-writer"] = {
        **target.store.authors["sdk-tests"],
        "slug": "ghost-writer",
        "email": "g@x",
    }
    # The API refuses one post (the job opens with one write alone: "ok", then "ghost").
    target.faults.add(Fault("status", path="posts/", methods=("POST",), nth=2, status=400,
                            body={"detail": "Something about ghosts."}))  # fmt: skip
    result = cli(target, "import", "posts", str(posts), "--journal", str(tmp_path / "j.jsonl"))
    assert result.exit_code == 1
    assert "failed 1" in result.output and "ghost" in result.output
    failed = tmp_path / "posts.jsonl.failed.jsonl"
    assert [line["slug"] for line in lines(failed)] == ["ghost"]
    # Fix the cause (the fault is spent), feed the failed file back.
    result = cli(target, "import", "posts", str(failed))
    assert result.exit_code == 0, result.output
    assert {"ok", "ghost"} <= set(target.store.posts)
    again = cli(target, "import", "posts", str(posts), "--journal", str(tmp_path / "j.jsonl"))
    assert "skipped 1" in again.output


def test_dry_run_validates_without_sending(target: Emulator, tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"slug": "a", "title": "A"}\n')
    result = cli(target, "import", "posts", str(posts), "--dry-run")
    assert result.exit_code == 0 and "every line is valid" in result.output
    assert target.requests == []


def test_tokens_are_never_echoed(source: Emulator, tmp_path: Path) -> None:
    result = cli(source, "export", "posts", "-o", str(tmp_path / "p.jsonl"), "--verbose")
    assert source.read_token not in result.output
    assert source.write_token not in result.output


@pytest.mark.parametrize("command", [[], ["demo"], ["export"], ["import"], ["emulator"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "usage:" in result.output.lower()


def test_emulator_help_shows_the_default_tokens_and_the_quota() -> None:
    result = CliRunner().invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "emulator-read-token" in text and "emulator-write-token" in text
    assert "not ButterCMS behaviour" in text and "API Calls limit reached." in text
    assert "--webhook URL" in text


def test_emulator_webhook_options() -> None:
    args = parse_args(["--webhook", "http://127.0.0.1:1/h", "--webhook-header", "X-S: v"])
    assert webhook_targets(args) == [WebhookTarget("http://127.0.0.1:1/h", headers={"X-S": "v"})]
    with pytest.raises(SystemExit):
        parse_args(["--webhook-header", "no-colon"])


def test_demo_prints_its_report() -> None:
    result = CliRunner().invoke(
        main,
        [
            "demo",
            "--posts",
            "300",
            "--pages",
            "50",
            "--items",
            "20",
            "--writes",
            "200",
            "--latency",
            "0.001",
        ],
        env={"BUTTER_READ_TOKEN": "", "BUTTER_WRITE_TOKEN": ""},
    )
    assert result.exit_code == 0, result.output
    assert "posts, prefetch on (default)" in result.output
    assert "prefetch makes the same walk" in result.output
    assert "200 writes" in result.output and "failures 0" in result.output
    assert "200 of 200 pages, no duplicates" in result.output


def test_demo_read_half_against_an_account(source: Emulator) -> None:
    result = cli(source, "demo", write=False)
    assert result.exit_code == 0, result.output
    assert "read-only" in result.output
    assert all(record.method == "GET" for record in source.requests)


def test_emulator_command_serves_until_stopped() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [
        sys.executable,
        "-m",
        "butter_async",
        "emulator",
        "--port",
        "0",
        "--posts",
        "5",
        "--read-token",
        "t",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as server:
        try:
            assert server.stdout is not None
            banner = server.stdout.readline()
            assert "ButterCMS emulator at http://127.0.0.1:" in banner
            url = banner.split(" at ")[1].split()[0]
            with urllib.request.urlopen(url + "posts/?auth_token=t") as response:
                body = orjson.loads(response.read())
            assert body["meta"]["count"] == 6
        finally:
            server.terminate()


DEMO_SMALL = ["--posts", "100", "--pages", "20", "--items", "10", "--writes", "300"]


def test_the_demo_shows_a_progress_bar_on_a_terminal_and_only_the_report_otherwise() -> None:
    import pty

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), "COLUMNS": "120"}
    command = [sys.executable, "-m", "butter_async", "demo", *DEMO_SMALL, "--latency", "0.002"]
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    on_terminal = seen.decode("utf-8", "replace")
    assert "bulk import" in on_terminal and "300 done" in on_terminal  # the bar
    assert "verified in the emulator's store: 300 of 300 pages" in on_terminal
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "verified in the emulator's store: 300 of 300 pages" in piped.stdout
    assert "done," not in piped.stdout + piped.stderr  # no bar frames in a log
