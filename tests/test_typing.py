"""What users type against us passes `mypy --strict`, and their likely slips are type errors."""

from __future__ import annotations

import textwrap
import typing
from pathlib import Path
from types import SimpleNamespace

import attrs
import pytest
from mypy import api

from butter_async import ButterClient
from butter_async.bulk import BulkOptions, BulkSettings, BulkWriter
from butter_async.transport import ClientOptions, ClientSettings

ROOT = Path(__file__).parent.parent

USER_CODE = """
from butter_async import ButterClient, Post
from butter_async.images import ImageURL, image
from butter_async.operations import CreatePost


async def thumbnails(butter: ButterClient) -> list[str]:
    urls: list[str] = []
    async for post in butter.posts.list():
        thumb: ImageURL | None = image(post.featured_image)  # None in, None out
        if thumb is not None:
            urls.append(str(thumb.resize(width=320, fit="crop")))
    async for raw in butter.posts.list(raw=True):
        urls.append(str(raw["slug"]))
    first: Post | None = await butter.posts.list().first()
    posts = [CreatePost("hello", "Hello", {"tags": ["news"]})]
    report = await butter.bulk_run(posts, concurrency=8, keep_results=True)
    assert report.results is not None and first is not None
    async with butter.bulk(concurrency=4, journal="job.db") as writer:
        await writer.run(posts)
    return urls
"""

SLIPS = """
from butter_async import ButterClient
from butter_async.images import image
from butter_async.operations import CreatePost


async def slips(butter: ButterClient) -> None:
    CreatePost("hello", "Hello", {"author_mail": "me@example.com"})
    butter.bulk(concurency=8)
    await butter.bulk_run([], concurrency="8")
    image(None).resize(width=320)
"""


def mypy_strict(tmp_path: Path, name: str, code: str) -> tuple[str, int]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(path)]
    )
    return out + err, status


def test_user_code_and_the_examples_type_check(tmp_path: Path) -> None:
    output, status = mypy_strict(tmp_path, "user_code", USER_CODE)
    assert status == 0, output
    examples = str(ROOT / "examples")
    out, err, status = api.run(["--strict", "--cache-dir", str(tmp_path / "c"), examples])
    assert status == 0, out + err


def test_likely_slips_are_type_errors(tmp_path: Path) -> None:
    output, status = mypy_strict(tmp_path, "slips", SLIPS)
    assert status == 1
    assert 'Unexpected keyword argument "concurency"' in output
    assert 'Argument "concurrency" to "bulk_run"' in output
    assert '"None" has no attribute "resize"' in output
    assert 'Extra key "author_mail" for TypedDict "PostFields"' in output


def test_the_bulk_options_type_lists_exactly_the_writers_options() -> None:
    settings = {field.name for field in attrs.fields(BulkSettings)}
    assert set(BulkOptions.__annotations__) == settings
    options = typing.get_type_hints(BulkOptions)
    for field in attrs.fields(attrs.resolve_types(BulkSettings)):
        assert options[field.name] == field.type, field.name  # the settings' own types
    writer = BulkWriter(SimpleNamespace(), **{"concurrency": 3, "fail_fast": True})  # type: ignore[arg-type]
    assert writer.settings == BulkSettings(concurrency=3, fail_fast=True)
    assert writer.settings.failure_limit == 1


def test_the_client_options_type_lists_exactly_the_clients_settings() -> None:
    # compared as written: the cache's types load only with the first cache made
    options = {name: ref.__forward_arg__ for name, ref in ClientOptions.__annotations__.items()}
    fields = attrs.fields(ClientSettings)
    assert set(options) == {f.name for f in fields} - {"read_token", "write_token"}
    for field in fields:
        if field.name in options:
            assert options[field.name] == field.type, field.name  # the settings' own types
    assert "secret" not in repr(ClientSettings(read_token="secret-read", write_token="secret-w"))


def test_list_and_search_keywords_are_one_definition_checked_at_runtime_too() -> None:
    butter = ButterClient("token-for-a-keyword-check")
    assert butter.posts.list(page_size=10, pagination="offset").page_size == 10
    with pytest.raises(TypeError, match="'page_sise'"):
        butter.posts.list(page_sise=10)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'pagination'"):  # a search is ranked: pages only
        butter.posts.search("soup", pagination="offset")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'prefech'"):
        butter.pages.search("soup", prefech=2)  # type: ignore[call-arg]
    assert butter.collections.list("products", prefetch=2).prefetch == 2
