"""One attempt at an API call: the request, its redirects, and its answer decoded."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import aiohttp
from yarl import URL

from ..cache.coalescing import Decode, Fetched
from ..errors import TransportError
from .failures import MappedFailures
from .redirects import MAX_REDIRECTS, REDIRECT_STATUSES, follow_redirect
from .responses import payload_of, read_body
from .session import SharedSession
from .settings import Auth
from .urls import redact_url

logger = logging.getLogger("butter_async")


async def send_once(
    shared: SharedSession,
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    query: dict[str, str],
    body: bytes | None,
    auth: Auth,
    timeout: aiohttp.ClientTimeout,
    decode: Decode,
    attempt: int = 0,
) -> Fetched:
    """Send one attempt (`attempt` counts from 0), following redirects: what `decode`
    makes of the answer, and its body."""
    redact = shared.redact
    headers: Mapping[str, str] = shared.request_headers[auth, body is not None]
    if auth == "read" and shared.read_auth == "query":
        query = {**query, "auth_token": shared.read_token}
    target = url.update_query(query) if query else url
    started = time.perf_counter()
    stats = shared.stats
    stats.requests += 1
    for _hop in range(MAX_REDIRECTS + 1):
        mapped = MappedFailures(session, method, target, timeout.total or 0, redact)
        with mapped:
            async with session.request(
                method,
                target,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                    target, headers = follow_redirect(target, response, headers, method, redact)
                    continue
                raw = await read_body(response, shared.max_body_size, method, target)
                status = response.status
                response_headers = response.headers
        if mapped.failure is not None:
            raise mapped.failure
        break
    else:
        raise TransportError("too many redirects", method=method, url=redact_url(target))
    stats.by_status[status] += 1
    if status != 429:
        stats.accepted += 1
    stats.bytes_received += len(raw)
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = (time.perf_counter() - started) * 1000
        where, number = redact_url(target), attempt + 1
        logger.debug("%s %s -> %d in %.1f ms (attempt %d)", method, where, status, elapsed, number)
    answer = payload_of(status, raw, response_headers, method, target, decode, redact)
    return answer, raw
