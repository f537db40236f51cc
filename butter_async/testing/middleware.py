"""The emulator's middlewares: request log, latency and faults, trailing slash, auth, errors."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from .faults import Fault, retry_after_header, seconds_until_next_month
from .state import EmulatorState, RequestRecord, state_of
from .store import JSON, NOT_FOUND, StoreError
from .wire import API_ROOT, json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RATE_LIMITED: JSON = {"detail": "API Calls limit reached."}
NO_CREDENTIALS: JSON = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN: JSON = {"detail": "Invalid token."}
NO_PERMISSION: JSON = {"detail": "You do not have permission to perform this action."}
HTML_ERROR_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head>"
    "<body><h1>{status}</h1><p>The upstream server did not answer.</p></body></html>"
)


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every request with its final status."""
    state = state_of(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    except ConnectionResetError:
        # The client hung up mid-request (a cancelled job): nobody reads an answer, and a
        # traceback in the server's log would only be noise.
        status = 499
        return web.Response(status=499)
    finally:
        path = request.path.removeprefix(API_ROOT)
        state.calls += 1
        state.status_counts[status] += 1
        state.endpoint_counts[f"{request.method} {path.split('/')[0]}"] += 1
        state.requests.append(
            RequestRecord(
                method=request.method,
                path=path,
                query=request.query_string,
                status=status,
                auth_header="Authorization" in request.headers,
                user_agent=request.headers.get("User-Agent", ""),
                client_header=request.headers.get("X-Butter-Client", ""),
                at=time.monotonic(),
            )
        )
        if len(state.requests) > state.request_log_limit:
            del state.requests[: len(state.requests) // 2]  # a long-running server stays bounded


@web.middleware
async def realism(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, rate limit, monthly quota and planned faults."""
    state = state_of(request)
    delay = state.delay_for(request.method)
    if delay > 0:
        await asyncio.sleep(delay)
    if state.quota is not None and state.calls >= state.quota:
        # rate-limits-throttling: the spent monthly quota, Retry-After up to the reset.
        return json_response(RATE_LIMITED, 429, {"Retry-After": str(seconds_until_next_month())})
    if state.limiter is not None:  # a test knob: ButterCMS documents no per-second limit
        wait = state.limiter.take()
        if wait > 0:
            header = retry_after_header(wait, fractional=state.fractional_retry_after)
            return json_response(RATE_LIMITED, 429, {"Retry-After": header})
    fault = state.faults.pick(request.method, request.path.removeprefix(API_ROOT), request.query)
    if fault is None:
        return await handler(request)
    return await _inject(fault, request, handler, state)


async def _inject(
    fault: Fault, request: web.Request, handler: Handler, state: EmulatorState
) -> web.StreamResponse:
    kind = fault.kind
    if kind == "status":
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        body = fault.body or (
            RATE_LIMITED if fault.status == 429 else {"detail": "Injected fault."}
        )
        return json_response(body, fault.status, headers)
    if kind == "html":
        page = HTML_ERROR_PAGE.format(status=fault.status)
        return web.Response(text=page, status=fault.status, content_type="text/html")
    if kind == "redirect":
        target = fault.location or ((state.redirect_base or "").rstrip("/") + str(request.rel_url))
        raise web.HTTPMovedPermanently(location=target)
    if kind == "delay":
        await asyncio.sleep(fault.seconds)
        return await handler(request)
    if kind == "change":
        if fault.action is not None:
            done = fault.action()
            if inspect.isawaitable(done):
                await done
        return await handler(request)
    if kind == "reset_before":
        return await _drop_connection(request)
    response = await handler(request)
    if kind == "reset_after":
        return await _drop_connection(request)
    if kind == "hang_after":
        await asyncio.sleep(fault.seconds)
        return response
    # truncate: promise the whole body, send half of it, drop the connection.
    payload = response.body if isinstance(response, web.Response) else None
    raw = payload if isinstance(payload, bytes) else b""
    partial = web.StreamResponse(status=response.status)
    partial.content_type = "application/json"
    partial.content_length = len(raw)
    await partial.prepare(request)
    await partial.write(raw[: len(raw) // 2])
    return await _drop_connection(request, partial)


async def _drop_connection(
    request: web.Request, response: web.StreamResponse | None = None
) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing reaches the client; the status is what the request log shows.
    return response or web.Response(status=499)


@web.middleware
async def trailing_slash(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 301 to the slashed URL for a path without its trailing slash, as the API does."""
    if request.path.startswith(API_ROOT) and not request.path.endswith("/"):
        slashed = request.rel_url.with_path(request.path + "/").with_query(request.rel_url.query)
        raise web.HTTPMovedPermanently(location=str(slashed))
    return await handler(request)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Reads take the read token (query or header); writes only the write token in the header."""
    state = state_of(request)
    header = request.headers.get("Authorization", "")
    header_token = header[6:].strip() if header.startswith("Token ") else None
    if request.method in ("GET", "HEAD"):
        token = request.query.get("auth_token") or header_token
        if not token:
            return json_response(NO_CREDENTIALS, 401)
        if token not in (state.read_token, state.write_token):
            return json_response(INVALID_TOKEN, 401)
        return await handler(request)
    if header_token is None:
        return json_response(NO_CREDENTIALS, 401)
    if header_token == state.read_token:
        return json_response(NO_PERMISSION, 403)
    if header_token != state.write_token:
        return json_response(INVALID_TOKEN, 401)
    return await handler(request)


@web.middleware
async def store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render the store's refusals as the API's JSON error answers."""
    try:
        return await handler(request)
    except StoreError as error:
        return json_response(error.body, error.status)
    except web.HTTPNotFound:
        return json_response(NOT_FOUND, 404)
    except web.HTTPMethodNotAllowed:
        return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)


#: Outermost first: every request is logged, then delayed or faulted, then checked.
MIDDLEWARES = [observe, realism, trailing_slash, authenticate, store_errors]
