"""Secrets never leak; hostile responses and redirects are refused or contained."""

from __future__ import annotations

import gzip
import logging

import pytest
from aiohttp import web

from butter_async import (
    APIError,
    ButterClient,
    ButterError,
    ConfigurationError,
    InvalidResponseError,
    RetryPolicy,
)
from butter_async.operations import CreatePage, CreatePost
from butter_async.testing import Emulator, Fault, SeedSpec

from .conftest import serving

READ = "read-token-SECRET-7f3a9c"
WRITE = "write-token-SECRET-e41b02"
FAST = RetryPolicy(max_retries=2, backoff_base=0.0, backoff_max=0.0)


async def test_tokens_never_appear_in_logs_errors_or_reprs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="butter_async")
    texts: list[str] = []
    faults = [
        Fault("status", path="posts/", nth=2, status=503),
        Fault("status", path="pages/", methods=("POST",), nth=1, status=502),
    ]
    async with Emulator(
        seed=SeedSpec(posts=50, pages=1), read_token=READ, write_token=WRITE, faults=faults
    ) as emu:
        async with emu.client(retry=FAST) as butter:
            texts.append(repr(butter))
            texts += [repr(p) for p in await butter.posts.list(page_size=10).collect()]
            fields = {
                "headline": "h",
                "servings": 1,
                "hero_image": "",
                "ingredients": [],
                "seo": {},
                "sections": [],
            }
            result = await butter.pages.create("recipe", "secret-page", "S", fields)
            texts.append(repr(result))
            report = await butter.bulk_run(
                [CreatePost("x", "X", {"author_slug": "ghost"}), CreatePage("nope", "y", "Y", {})]
            )
            texts += [repr(report)] + [f"{r.detail} {r.error!r} {r.error}" for r in report.failures]
            for failing in (
                butter.posts.get("missing"),
                butter.pages.update("recipe", "missing", fields={"a": 1}),
                butter.collections.get_many(["missing"]),
            ):
                with pytest.raises(ButterError) as caught:
                    await failing
                texts += [str(caught.value), repr(caught.value), repr(caught.value.args)]
                if isinstance(caught.value, APIError):
                    texts.append(caught.value.url)
        async with ButterClient("wrong-token-SECRET", base_url=emu.url, retry=FAST) as bad:
            with pytest.raises(ButterError) as caught:
                await bad.posts.list().first()
            texts += [str(caught.value), repr(bad)]
        for record in emu.requests:
            if record.method != "GET":
                assert READ not in record.query and WRITE not in record.query
            assert WRITE not in record.query
    texts += [record.getMessage() for record in caplog.records]
    assert "retrying" in caplog.text and "-> 200" in caplog.text
    leaked = [t for t in texts if READ in t or WRITE in t or "wrong-token-SECRET" in t]
    assert leaked == []


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        ButterClient(READ, base_url="http://api.buttercms.com/v2/")


async def test_oversized_body_is_refused_before_it_fills_memory() -> None:
    emu = Emulator(seed=SeedSpec(posts=300))
    async with emu, emu.client(max_body_size=20_000, retry=FAST) as butter:
        with pytest.raises(InvalidResponseError, match="max_body_size"):
            await butter.posts.list(page_size=100).collect(limit=100)


async def test_json_nesting_bomb_is_an_invalid_response() -> None:
    bomb = b"[" * 200_000 + b"]" * 200_000

    async def serve_bomb(request: web.Request) -> web.Response:
        return web.Response(body=bomb, content_type="application/json")

    async with serving(serve_bomb) as url, ButterClient(READ, base_url=url, retry=FAST) as b:
        with pytest.raises(InvalidResponseError, match="not valid JSON"):
            await b.posts.list().first()


async def test_gzip_bomb_is_refused_by_its_decompressed_size() -> None:
    # 10 MB of spaces compress to about 10 KB: the declared length alone would pass.
    compressed = gzip.compress(b"{" + b" " * 10_000_000 + b"}")

    async def serve_bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=compressed,
            content_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    async with (
        serving(serve_bomb) as url,
        ButterClient(READ, base_url=url, retry=FAST, max_body_size=1_000_000) as butter,
    ):
        with pytest.raises(InvalidResponseError, match="max_body_size"):
            await butter.posts.list().first()


async def test_chunked_body_without_a_length_is_capped_while_streaming() -> None:
    async def serve_endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"data": [')
        for _ in range(50):
            await response.write(b'"' + b"x" * 100_000 + b'",')
        return response

    async with (
        serving(serve_endless) as url,
        ButterClient(READ, base_url=url, retry=FAST, max_body_size=1_000_000) as butter,
    ):
        with pytest.raises(InvalidResponseError, match="max_body_size"):
            await butter.posts.list().first()
