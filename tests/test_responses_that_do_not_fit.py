"""Answers that do not fit, and job files that do not match: bounded, masked, one line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from aiohttp import web

from butter_async import ButterClient, ResponseValidationError, RetryPolicy
from butter_async.models.converter import SHOWN_PATHS
from butter_async.testing import emulator_in_thread

from .conftest import serving
from .test_cli import cli

TOKEN = "rtok-5Xq9Lm2Pz7Wc4Nb8Vd3K"
NO_RETRIES = RetryPolicy(max_retries=0)


def pieces(secret: str, length: int = 12) -> list[str]:
    return [secret[i : i + length] for i in range(len(secret) - length + 1)]


async def test_a_list_of_many_wrong_items_fails_with_a_bounded_message() -> None:
    items = [{"slug": f"a{i}", "first_name": [i]} for i in range(20_000)]

    async def authors(_request: web.Request) -> web.Response:
        return web.json_response({"data": items})

    async with serving(authors) as url, ButterClient(TOKEN, base_url=url) as butter:
        with pytest.raises(ResponseValidationError) as raised:
            await butter.authors.list()
    message = str(raised.value)
    assert message.count("first_name: expected a string") == SHOWN_PATHS
    assert f"and {20_000 - SHOWN_PATHS:,} more failing item(s)" in message
    assert len(message) < 2_000


async def test_a_url_echoed_into_a_field_leaves_no_piece_of_the_token_in_the_error() -> None:
    async def echo(request: web.Request) -> web.Response:
        post = {"slug": "p", "title": "P", "created": str(request.url) + "x" * 100}
        return web.json_response({"data": post, "meta": {}})

    async with serving(echo) as url, ButterClient(TOKEN, base_url=url, retry=NO_RETRIES) as b:
        with pytest.raises(ResponseValidationError) as raised:
            await b.posts.get("p")
    shown = str(raised.value) + repr(raised.value)
    assert "created" in shown
    assert not [piece for piece in pieces(TOKEN) if piece in shown]


async def test_a_string_where_a_list_belongs_is_one_short_line() -> None:
    async def legacy(_request: web.Request) -> web.Response:
        # the documented legacy content-fields answer: a value, not a list of items
        return web.json_response({"data": {"homepage_title": "Welcome " * 500}})

    async with serving(legacy) as url, ButterClient(TOKEN, base_url=url, retry=NO_RETRIES) as b:
        with pytest.raises(ResponseValidationError) as raised:
            await b.collections.get_many(["homepage_title"])
    message = str(raised.value)
    assert "data['homepage_title']: expected a list, got str" in message
    assert len(message) < 300 and "\n" not in message


def test_a_list_of_text_is_not_a_list_of_characters() -> None:
    from butter_async.models.converter import structure

    with pytest.raises(ResponseValidationError, match=r"\$\['tags'\]: expected a list, got str"):
        structure({"tags": "abc"}, dict[str, list[str]])
    with pytest.raises(ResponseValidationError, match="expected a list, got dict"):
        structure({"x": {"a": 1}}, dict[str, list[str]])
    assert structure({"tags": ["a", "b"]}, dict[str, list[str]]) == {"tags": ["a", "b"]}


# -- a damaged export cursor ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        (b"", "empty or damaged"),
        (b"{not json", "empty or damaged"),
        (orjson.dumps({"page": 2, "size": 5_200_000}), "the file holds"),
        (orjson.dumps({"page": 2, "size": 100 * 2**30}), "the file holds"),
        (orjson.dumps({"page": 2, "size": 7}), "does not end a line"),
        (orjson.dumps({"page": -1, "size": 0}), "empty or damaged"),
    ],
)
def test_a_cursor_that_does_not_match_its_output_is_refused(
    tmp_path: Path, cursor: bytes, why: str
) -> None:
    output = tmp_path / "posts.jsonl"
    with emulator_in_thread() as emu:
        assert cli(emu, "export", "posts", "-o", str(output)).exit_code == 0
        written = output.read_bytes()
        (tmp_path / "posts.jsonl.cursor").write_bytes(cursor)
        result = cli(emu, "export", "posts", "-o", str(output), "--resume")
    assert result.exit_code != 0
    assert why in result.output and "Delete the cursor" in result.output
    assert "Traceback" not in result.output
    assert output.read_bytes() == written  # never padded nor cut
