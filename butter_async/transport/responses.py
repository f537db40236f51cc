"""An answer's body read within its limit, and turned into a payload or an APIError."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from ..cache.coalescing import Decode
from ..errors import InvalidResponseError, api_error
from ..retries import parse_retry_after
from .urls import redact_url


async def read_body(
    response: aiohttp.ClientResponse, max_body_size: int, method: str, url: URL
) -> bytes:
    """The body, refused (InvalidResponseError) past `max_body_size`, declared or not."""
    declared = response.content_length
    if declared is not None and declared > max_body_size:
        raise _too_big(f"of {declared} bytes ", max_body_size, response, method, url)
    if declared is not None and "Content-Encoding" not in response.headers:
        return await response.read()  # the declared size, already checked, is all we read
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > max_body_size:
            raise _too_big("", max_body_size, response, method, url)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(
    size: str, max_body_size: int, response: aiohttp.ClientResponse, method: str, url: URL
) -> InvalidResponseError:
    return InvalidResponseError(
        f"response body {size}exceeds max_body_size={max_body_size}",
        status=response.status,
        method=method,
        url=redact_url(url),
        body="",
    )


def not_json(
    raw: bytes, status: int, method: str, url: URL, redact: Callable[[str], str]
) -> InvalidResponseError:
    """The error for a successful answer whose body is not JSON."""
    return InvalidResponseError(
        "response body is not valid JSON (truncated, or an HTML page from a proxy?)",
        status=status,
        method=method,
        url=redact_url(url),
        body=redact(raw.decode("utf-8", "replace"))[:200],
    )


def payload_of(
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
    method: str,
    url: URL,
    decode: Decode,
    redact: Callable[[str], str],
) -> Any:
    """What `decode` makes of a successful answer (None for 204 or an empty body); the
    APIError of any other."""
    if status == 204 or (not raw and status < 400):
        return None
    try:
        payload: Any = decode(raw) if status < 400 else orjson.loads(raw)
    except ValueError:  # orjson's and msgspec's errors for a body that is not JSON
        if status < 400:
            raise not_json(raw, status, method, url, redact) from None
        payload = redact(raw.decode("utf-8", "replace"))[:200]
    if status < 400:
        return payload
    raise api_error(
        status,
        payload,
        method=method,
        url=redact_url(url),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        redact=redact,
    )
