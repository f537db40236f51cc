"""Request shaping, error mapping, retries and lifecycle of the session manager (aioresponses)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
import orjson
import pytest
from aioresponses import aioresponses
from yarl import URL

from butter_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ButterClient,
    ClientClosedError,
    InvalidResponseError,
    MethodNotAllowedError,
    MissingWriteTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from butter_async.transport import CLIENT_HEADER

from .conftest import FAST_RETRIES, READ_TOKEN, WRITE_TOKEN

POSTS = re.compile(r"^https://api\.buttercms\.com/v2/posts/\?.*$")
EMPTY_LIST = {"meta": {"count": 0, "next_page": None, "previous_page": None}, "data": []}


def calls(mocked: aioresponses) -> list[tuple[str, URL, dict[str, Any]]]:
    """Every request aioresponses saw: method, URL, keyword arguments."""
    return [
        (method, url, call.kwargs)
        for (method, url), recorded_calls in mocked.requests.items()
        for call in recorded_calls
    ]


def assert_no_token(text: str) -> None:
    assert READ_TOKEN not in text
    assert WRITE_TOKEN not in text


async def test_read_sends_token_in_query_and_client_headers(
    mocked: aioresponses, client: ButterClient
) -> None:
    mocked.get(POSTS, payload=EMPTY_LIST)
    assert await client.posts.list(page_size=20, tag_slug="news").collect() == []
    [(method, url, kwargs)] = calls(mocked)
    assert method == "GET"
    assert url.path == "/v2/posts/"
    assert dict(url.query) == {
        "page": "1",
        "page_size": "20",
        "tag_slug": "news",
        "auth_token": READ_TOKEN,
    }
    headers = kwargs["headers"]
    assert headers["X-Butter-Client"] == CLIENT_HEADER
    assert headers["Accept-Encoding"] == "gzip"
    assert "butter-async" in headers["User-Agent"]
    assert "Authorization" not in headers


async def test_write_token_only_in_authorization_header(
    mocked: aioresponses, client: ButterClient
) -> None:
    mocked.post("https://api.buttercms.com/v2/posts/", status=202, payload={"status": "pending"})
    result, _body = await client.transport.request(
        "POST", ["posts"], content=orjson.dumps({"slug": "a"}), auth="write"
    )
    assert result == {"status": "pending"}
    [(_, url, kwargs)] = calls(mocked)
    assert "auth_token" not in url.query
    assert WRITE_TOKEN not in str(url)
    assert kwargs["headers"]["Authorization"] == f"Token {WRITE_TOKEN}"
    assert kwargs["data"] == b'{"slug":"a"}'


async def test_write_without_write_token_fails_before_any_request(mocked: aioresponses) -> None:
    async with ButterClient(READ_TOKEN) as butter:
        with pytest.raises(MissingWriteTokenError, match="write_token"):
            await butter.transport.request(
                "POST", ["posts"], content=orjson.dumps({}), auth="write"
            )
    assert calls(mocked) == []


async def test_read_params_fields_and_flags(mocked: aioresponses, client: ButterClient) -> None:
    mocked.get(
        re.compile(r"^https://api\.buttercms\.com/v2/pages/recipe/\?.*$"), payload=EMPTY_LIST
    )
    pager = client.pages.list(
        "recipe",
        preview=True,
        locale="fr",
        levels=3,
        fields={"cuisine": "thai", "vegan": True},
        order="-published",
        page_size=5,
    )
    await pager.collect()
    [(_, url, _)] = calls(mocked)
    assert dict(url.query) == {
        "preview": "1",
        "locale": "fr",
        "levels": "3",
        "order": "-published",
        "fields.cuisine": "thai",
        "fields.vegan": "true",
        "page": "1",
        "page_size": "5",
        "auth_token": READ_TOKEN,
    }


async def test_client_wide_preview_adds_test_and_preview(mocked: aioresponses) -> None:
    mocked.get(POSTS, payload=EMPTY_LIST)
    async with ButterClient(READ_TOKEN, preview=True) as butter:
        await butter.posts.list().collect()
    [(_, url, _)] = calls(mocked)
    assert url.query["preview"] == "1"
    assert url.query["test"] == "1"


async def test_slugs_are_encoded_into_one_segment(
    mocked: aioresponses, client: ButterClient
) -> None:
    mocked.get(
        re.compile(r"^https://api\.buttercms\.com/v2/pages/\*/a%2F\.\.%2Fb%3Fc/\?.*$"),
        payload={"data": {"slug": "a/../b?c", "fields": {}}},
    )
    page = await client.pages.get("*", "a/../b?c")
    assert page.slug == "a/../b?c"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, MethodNotAllowedError),
        (409, APIError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
async def test_statuses_map_to_exception_classes(
    mocked: aioresponses, status: int, error_class: type[APIError]
) -> None:
    mocked.get(POSTS, status=status, payload={"detail": "Nope."}, repeat=True)
    retry = RetryPolicy(max_retries=0)
    async with ButterClient(READ_TOKEN, WRITE_TOKEN, retry=retry) as butter:
        with pytest.raises(error_class) as caught:
            await butter.posts.list().first()
    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.detail == "Nope."
    assert error.method == "GET"
    assert "auth_token=REDACTED" in error.url
    assert_no_token(str(error))
    assert_no_token(repr(error.args))


async def test_bad_request_keeps_field_errors(mocked: aioresponses, client: ButterClient) -> None:
    body = {"slug": ["A post with slug 'a' already exists."], "title": "This field is required."}
    mocked.post("https://api.buttercms.com/v2/posts/", status=400, payload=body)
    with pytest.raises(BadRequestError) as caught:
        await client.transport.request("POST", ["posts"], content=orjson.dumps({}), auth="write")
    assert caught.value.field_errors == {
        "slug": ["A post with slug 'a' already exists."],
        "title": ["This field is required."],
    }


async def test_transient_503_is_retried_transparently(
    mocked: aioresponses, client: ButterClient
) -> None:
    mocked.get(POSTS, status=503, payload={"detail": "Unavailable"})
    mocked.get(POSTS, status=502, body="<html>bad gateway</html>", content_type="text/html")
    mocked.get(POSTS, payload={**EMPTY_LIST, "data": [{"slug": "only"}], "meta": {"count": 1}})
    posts = await client.posts.list().collect()
    assert [post.slug for post in posts] == ["only"]
    assert client.stats.retries == 2
    assert client.stats.by_status[200] == 1


async def test_retries_give_up_with_the_last_error(mocked: aioresponses) -> None:
    mocked.get(
        POSTS, status=504, body="<html>timeout</html>", content_type="text/html", repeat=True
    )
    async with ButterClient(READ_TOKEN, retry=RetryPolicy(max_retries=2, backoff_base=0)) as b:
        with pytest.raises(ServerError, match="non-JSON") as caught:
            await b.posts.list().first()
    assert caught.value.status == 504
    assert len(calls(mocked)) == 3


async def test_retry_after_is_honoured(
    mocked: aioresponses, client: ButterClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def record_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("butter_async.transport.view.asyncio.sleep", record_sleep)
    mocked.get(
        POSTS,
        status=429,
        payload={"detail": "API Calls limit reached."},
        headers={"Retry-After": "3"},
    )
    mocked.get(POSTS, payload=EMPTY_LIST)
    assert await client.posts.list().collect() == []
    assert slept == [3.0]


async def test_retry_after_beyond_the_cap_raises_instead_of_sleeping(
    mocked: aioresponses, client: ButterClient
) -> None:
    mocked.get(
        POSTS,
        status=429,
        payload={"detail": "API Calls limit reached."},
        headers={"Retry-After": "86400"},
        repeat=True,
    )
    with pytest.raises(RateLimitError) as caught:
        await client.posts.list().first()
    assert caught.value.retry_after == 86400
    assert caught.value.detail == "API Calls limit reached."
    assert len(calls(mocked)) == 1


async def test_writes_are_not_retried_when_they_may_have_been_applied(
    mocked: aioresponses, client: ButterClient
) -> None:
    url = "https://api.buttercms.com/v2/posts/"
    mocked.post(url, status=502, body="<html></html>", content_type="text/html")
    with pytest.raises(ServerError):
        await client.transport.request("POST", ["posts"], content=orjson.dumps({}), auth="write")
    assert len(calls(mocked)) == 1


async def test_writes_refused_with_503_or_429_are_retried(
    mocked: aioresponses, client: ButterClient
) -> None:
    url = "https://api.buttercms.com/v2/posts/"
    mocked.post(url, status=503, payload={"detail": "down"})
    mocked.post(url, status=429, payload={"detail": "API Calls limit reached."})
    mocked.post(url, status=202, payload={"status": "pending"})
    result, _body = await client.transport.request(
        "POST", ["posts"], content=orjson.dumps({}), auth="write"
    )
    assert result == {"status": "pending"}
    assert client.stats.retries == 2


async def test_success_with_html_body_is_an_invalid_response(mocked: aioresponses) -> None:
    mocked.get(POSTS, body="<html>Welcome to the CDN</html>", content_type="text/html", repeat=True)
    async with ButterClient(READ_TOKEN, retry=RetryPolicy(max_retries=1, backoff_base=0)) as b:
        with pytest.raises(InvalidResponseError, match="not valid JSON") as caught:
            await b.posts.list().first()
    assert caught.value.status == 200
    assert "Welcome to the CDN" in caught.value.body


async def test_timeout_maps_to_request_timeout_error(
    mocked: aioresponses, client: ButterClient
) -> None:
    mocked.get(POSTS, exception=TimeoutError(), repeat=True)
    with pytest.raises(RequestTimeoutError) as caught:
        await client.posts.list().first()
    assert isinstance(caught.value, TimeoutError)
    assert_no_token(str(caught.value))
    assert len(calls(mocked)) == 4


async def test_connection_error_maps_to_transport_error_without_token(
    mocked: aioresponses, client: ButterClient
) -> None:
    error = aiohttp.ClientConnectionError(f"boom at {URL(str(POSTS.pattern))} {READ_TOKEN}")
    mocked.get(POSTS, exception=error, repeat=True)
    with pytest.raises(TransportError) as caught:
        await client.posts.list().first()
    assert_no_token(str(caught.value))


async def test_oversized_body_is_refused(mocked: aioresponses) -> None:
    mocked.get(POSTS, body=b"[" + b"1," * 600 + b"1]", repeat=True)
    async with ButterClient(READ_TOKEN, max_body_size=1000, max_retries=0) as butter:
        with pytest.raises(InvalidResponseError, match="max_body_size"):
            await butter.posts.list().first()


async def test_tokens_never_in_repr_or_logs(
    mocked: aioresponses, client: ButterClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="butter_async")
    mocked.get(POSTS, status=503, payload={"detail": "x"})
    mocked.get(POSTS, payload=EMPTY_LIST)
    await client.posts.list().collect()
    assert "retrying GET" in caplog.text
    assert "-> 200" in caplog.text
    assert_no_token(caplog.text)
    assert_no_token(repr(client))


async def test_closed_client_raises_and_closing_twice_is_harmless(mocked: aioresponses) -> None:
    butter = ButterClient(READ_TOKEN)
    await butter.close()
    await butter.close()
    with pytest.raises(ClientClosedError, match="closed"):
        await butter.posts.list().first()


async def test_caller_session_is_used_and_never_closed(mocked: aioresponses) -> None:
    mocked.get(POSTS, payload=EMPTY_LIST)
    async with aiohttp.ClientSession() as session:
        async with ButterClient(READ_TOKEN, session=session) as butter:
            await butter.posts.list().collect()
        assert not session.closed
    assert len(calls(mocked)) == 1


def test_client_used_from_another_loop_raises_clearly() -> None:
    butter = ButterClient(READ_TOKEN, retry=FAST_RETRIES)
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        with aioresponses() as mock:
            mock.get(POSTS, payload=EMPTY_LIST, repeat=True)
            assert first.run_until_complete(butter.posts.list().collect()) == []
            with pytest.raises(ClientClosedError, match="another event loop"):
                second.run_until_complete(butter.posts.list().collect())
        first.run_until_complete(butter.close())
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("posts/", lambda b: b.posts.list().first()),
        ("posts/example/", lambda b: b.posts.get("example")),
        ("pages/recipe/soup/", lambda b: b.pages.get("recipe", "soup")),
        ("content/products/7/", lambda b: b.collections.get_item("products", 7)),
        ("feeds/rss/", lambda b: b.feeds.rss()),
        ("tags/", lambda b: b.tags.list()),
    ],
)
async def test_a_json_array_where_an_object_belongs_is_a_validation_error(
    mocked: aioresponses, client: ButterClient, path: str, call: Any
) -> None:
    mocked.get(
        re.compile(rf"^https://api\.buttercms\.com/v2/{re.escape(path)}\?.*$"),
        payload=[1, 2],
        repeat=True,
    )
    with pytest.raises(ResponseValidationError, match="expected a JSON object"):
        await call(client)
