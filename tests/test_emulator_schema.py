"""Shaping the emulator from the shell: a schema file, and one exported from content."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from butter_async.content_schema import value_kind
from butter_async.testing import Emulator, emulator_in_thread
from butter_async.testing.store import CollectionItemRecord, PageRecord

from .test_cli import cli

ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
EVERY_KIND = {
    "headline": "text",
    "servings": "number",
    "photo": "media",
    "supplier": "reference",
    "steps": "repeater",
    "seo": "component",
    "body": "component_picker",
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`python -m butter_async.testing --schema FILE` running; its URL and the file."""
    schema = tmp_path / "schema.json"
    schema.write_bytes(
        orjson.dumps({"page_types": {"dish": EVERY_KIND}, "collections": {"suppliers": ["name"]}})
    )
    command = [sys.executable, "-m", "butter_async.testing", "--port", "0", "--posts", "0"]
    command += ["--pages", "0", "--items", "0", "--schema", str(schema)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        yield banner.split(" at ")[1].split()[0], schema
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def test_an_emulator_started_with_a_schema_accepts_an_import_of_it(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = served
    dish = {
        "slug": "soup", "title": "Soup",
        "fields": {"headline": "Hot", "servings": 2, "photo": "", "supplier": None,
                   "steps": [{"text": "boil"}], "seo": {"title": "Soup"}, "body": []},
    }  # fmt: skip
    source = tmp_path / "dishes.jsonl"
    source.write_bytes(orjson.dumps(dish) + b"\n")
    env = {**ENV, "BUTTER_BASE_URL": url, "BUTTER_READ_TOKEN": "emulator-read-token",
           "BUTTER_WRITE_TOKEN": "emulator-write-token"}  # fmt: skip

    def butter_async(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "butter_async", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    imported = butter_async("import", "pages", str(source), "--page-type", "dish")
    assert imported.returncode == 0, imported.stderr
    exported = butter_async("export", "pages", "dish", "--preview", "-o", str(tmp_path / "o"))
    assert exported.returncode == 0, exported.stderr
    (line,) = (tmp_path / "o").read_bytes().splitlines()
    assert orjson.loads(line)["fields"]["steps"] == [{"text": "boil"}]


def test_a_bad_schema_file_is_one_line_of_usage(tmp_path: Path) -> None:
    schema = tmp_path / "bad.json"
    schema.write_bytes(orjson.dumps({"page_types": {"dish": {"colour": "paint"}}}))
    command = [sys.executable, "-m", "butter_async.testing", "--schema", str(schema)]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 2
    assert "page_types.dish" in done.stderr and "kind must be one of" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_emulator_help_reads_well_and_says_which_tokens_it_serves() -> None:
    command = [sys.executable, "-m", "butter_async.testing", "--help"]
    text = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60).stdout
    flat = " ".join(text.split())
    assert "(default: --latency) (default" not in flat
    assert "(default: None)" not in flat and "(default: [])" not in flat
    assert "fixed tokens" in flat and "Emulator() in Python makes random ones" in flat
    assert "--schema FILE" in flat


def test_schema_export_infers_every_kind_from_the_content(tmp_path: Path) -> None:
    with emulator_in_thread(page_types={"dish": EVERY_KIND},
                            collections={"suppliers": ["name"]}) as emu:  # fmt: skip
        store = emu.store
        store.items["suppliers"][1] = CollectionItemRecord(1, "published", {None: {"name": "A"}})
        full = {
            "headline": "Hot", "servings": 2.5, "photo": "https://cdn.buttercms.com/abc",
            "supplier": {"meta": {"id": 1}}, "steps": [{"text": "boil"}],
            "seo": {"title": "Soup"}, "body": [{"type": "hero", "fields": {"h": "x"}}],
        }  # fmt: skip
        sparse = {key: None for key in full} | {"headline": ""}
        for slug, fields in (("soup", full), ("stew", sparse)):
            store.put_page(PageRecord(slug, slug, "dish", "published", "2024-01-01T00:00:00Z",
                                      "2024-01-01T00:00:00Z", {None: fields}))  # fmt: skip
        output = tmp_path / "schema.json"
        result = cli(emu, "schema", "export", "--page-type", "dish", "--collection",
                     "suppliers", "-o", str(output))  # fmt: skip
        assert result.exit_code == 0, result.output
        again = cli(emu, "schema", "export", "--page-type", "dish", "--collection", "suppliers")
    exported = orjson.loads(output.read_bytes())
    shapes = exported.pop("types")  # what each field showed, for `types generate --schema`
    assert exported == {"page_types": {"dish": EVERY_KIND}, "collections": {"suppliers": {
        "name": "text"}}}  # fmt: skip
    assert shapes["page_types"]["dish"]["count"] == 2
    assert shapes["page_types"]["dish"]["fields"]["servings"] == {"present": 1, "kinds": ["float"]}
    assert again.output.encode() == output.read_bytes()  # the same content, the same bytes
    emulator = Emulator(page_types=exported["page_types"], collections=exported["collections"])
    assert emulator.store.page_types["dish"].fields == EVERY_KIND  # it takes what was exported


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, None), ("", None), ([], None), (True, "text"), (3, "number"),
        ("hello", "text"), ("https://example.com/a.png", "media"),
        ({"url": "https://x/a", "alt": "A"}, "media"),
        ({"slug": "p", "page_type": "dish", "fields": {}}, "reference"),
        ([{"meta": {"id": 3}, "name": "n"}], "reference"),
        ([{"type": "hero", "fields": {}}], "component_picker"),
        ([{"text": "boil"}], "repeater"), ({"title": "t"}, "component"),
    ],
)  # fmt: skip
def test_each_value_shows_its_kind(value: object, kind: str | None) -> None:
    assert value_kind(value) == kind
