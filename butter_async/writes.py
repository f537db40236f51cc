"""Writes checked once (`WriteCall`), how they are sent, and what they did (`WriteResult`).

A write that fails after it may have been applied (timeout, dropped connection, 5xx other
than 503) is ambiguous. Blindly sending it again could create a duplicate, so a create is
retried only after reading back that the object does not exist yet, and a duplicate-slug
400 on a retry is recognised as our own earlier attempt having landed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from typing import Any, Literal, NamedTuple

import attrs
import orjson

from .errors import (
    AmbiguousWriteError,
    APIError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    TransportError,
    VisibilityTimeoutError,
)
from .models.decoding import envelope, json_body
from .transport import OnRateLimit, QueryValue, Transport

ObjectKind = Literal["page", "post", "collection_item"]
WriteOutcome = Literal["created", "updated", "deleted", "already_existed"]
WriteMethod = Literal["POST", "PATCH", "PUT", "DELETE"]
Probe = Callable[[], Awaitable[bool]]

#: What a read-back asks for: drafts too.
PREVIEW: Mapping[str, QueryValue] = {"preview": 1}


@attrs.define
class ReadBack:
    """Where a created object is looked for: the object itself (404 until it exists), or
    with `listed` a list query whose `meta.count` says whether it exists."""

    segments: tuple[str | int, ...]
    params: Mapping[str, QueryValue] = PREVIEW
    listed: bool = False


@attrs.define
class WriteCall:
    """A write checked and encoded once, ready to send with `ButterClient.send`.

    The resources' write methods and the bulk operations build these; change one and
    its `content` no longer matches its `body`, so build another instead. `key` names
    the object in the result; a create is looked for at `read_back` when an attempt is
    ambiguous, and before any attempt with `look_first`.
    """

    kind: ObjectKind
    key: str
    method: WriteMethod
    segments: tuple[str | int, ...]
    body: dict[str, Any] | None = None
    content: bytes | None = attrs.field(default=None, repr=False)
    locale: str | None = None
    read_back: ReadBack | None = None
    look_first: bool = False


def encode_body(body: dict[str, Any]) -> bytes:
    """`body` as the JSON the request sends; what JSON cannot hold raises ConfigurationError."""
    try:
        return orjson.dumps(body)
    except TypeError as failure:
        raise ConfigurationError(f"payload is not JSON-serialisable: {failure}") from None


@attrs.frozen
class WriteResult:
    """What a write did: `pending` means the API accepted it (202) for processing.

    `confirmed_by_read` is set when an ambiguous failure was resolved by reading the
    object back instead of sending the write again.
    """

    kind: ObjectKind
    key: str
    outcome: WriteOutcome
    attempts: int
    pending: bool = True
    confirmed_by_read: bool = False
    visible: Probe | None = attrs.field(default=None, repr=False, eq=False)

    async def wait_until_visible(self, timeout: float = 30.0, interval: float = 0.25) -> None:
        """Poll the read API until the write shows (or, for a delete, the object is gone)."""
        if self.visible is None:
            return
        deadline = time.monotonic() + timeout
        while not await self.visible():
            if time.monotonic() >= deadline:
                raise VisibilityTimeoutError(
                    f"{self.kind} {self.key!r} not visible after {timeout:g}s"
                )
            await asyncio.sleep(interval)


def is_ambiguous(error: BaseException) -> bool:
    """Whether a failed write may nevertheless have been applied."""
    if isinstance(error, TransportError | InvalidResponseError):
        return True
    return (
        isinstance(error, APIError)
        and error.status >= 500
        and error.status != 503
        and not isinstance(error, RateLimitError)
    )


def is_duplicate_slug(error: BadRequestError) -> bool:
    """Whether a 400 says the slug is already taken."""
    messages = error.field_errors.get("slug", [])
    return any("exist" in message.lower() or "unique" in message.lower() for message in messages)


def shows_scalars(actual: object, wanted: Mapping[str, object]) -> bool:
    """Whether `actual` (a fields mapping) has every scalar value of `wanted`.

    Only scalars are compared: components merge and pickers change shape when read.
    """
    if not isinstance(actual, Mapping):
        return False
    return all(
        actual.get(key) == value
        for key, value in wanted.items()
        if isinstance(value, str | int | float | bool) or value is None
    )


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def shows_whole_item(actual: object, wanted: Mapping[str, object]) -> bool:
    """Whether a read item is exactly what a full replace (PUT) sent.

    Every scalar sent must be there, and every field the replace left out must read
    back empty: a leftover value means the server merged instead of replacing.
    """
    if not shows_scalars(actual, wanted):
        return False
    assert isinstance(actual, Mapping)
    return all(
        _is_empty(value) for key, value in actual.items() if key not in wanted and key != "meta"
    )


def send_call(
    transport: Transport,
    call: WriteCall,
    *,
    check_first: bool = False,
    on_rate_limit: OnRateLimit = "wait",
) -> Coroutine[Any, Any, WriteResult]:
    """Send a checked write (a coroutine to await); see the module's docstring.

    A create is sent until it is known to have landed, a delete until it is known to be
    done; an update (PATCH or PUT of absolute values) is retried like a read.
    `on_rate_limit="raise"` hands a 429 to the caller, but only while no attempt may have
    been applied: after an ambiguous attempt the write is resolved within this call.
    """
    if call.method == "POST":
        check_first = check_first or call.look_first
        return create_resolving(
            transport, call, check_first=check_first, on_rate_limit=on_rate_limit
        )
    if call.method == "DELETE":
        return delete_resolving(transport, call, on_rate_limit=on_rate_limit)
    return _update(transport, call, on_rate_limit)


def _request(
    transport: Transport, call: WriteCall, on_rate_limit: OnRateLimit
) -> Awaitable[object]:
    """One attempt at `call`. Nothing reads a write's answer, so its body is only checked
    to look like JSON (an HTML page from a proxy is an InvalidResponseError)."""
    return transport.request(
        call.method,
        call.segments,
        content=call.content,
        params=None if call.locale is None else {"locale": call.locale},
        auth="write",
        idempotent=call.method in ("PATCH", "PUT"),
        decode=json_body,
        on_rate_limit=on_rate_limit,
    )


async def _found(transport: Transport, read_back: ReadBack) -> bool:
    """Whether the object `read_back` looks for exists, drafts included."""
    read = partial(transport.get, read_back.segments, read_back.params, fresh=True)
    if not read_back.listed:
        return await exists(read)
    payload = envelope(await read())
    return bool((payload.get("meta") or {}).get("count"))


async def _gone(transport: Transport, segments: tuple[str | int, ...]) -> bool:
    return not await exists(lambda: transport.get(segments, PREVIEW, fresh=True))


async def exists(read: Callable[[], Awaitable[object]]) -> bool:
    """True when `read` succeeds, False when it answers 404."""
    try:
        await read()
    except NotFoundError:
        return False
    return True


class _Landed(NamedTuple):
    """How a resolving loop learned that its write is done."""

    outcome: WriteOutcome
    attempts: int
    confirmed: bool


#: Given a refusal, whether it shows the write done (by an earlier attempt, or before).
_Recognise = Callable[
    [APIError | TransportError | InvalidResponseError, bool, int], "_Landed | None"
]


async def _resolving(
    transport: Transport,
    call: WriteCall,
    *,
    ambiguous: bool,
    look: Probe | None,
    recognise: _Recognise,
    done: WriteOutcome,
    on_rate_limit: OnRateLimit,
) -> _Landed:
    """Send `call` until it is known to have landed: the one loop of creates and deletes.

    After an ambiguous attempt (or from the start when `ambiguous`), `look` (if given) is
    asked first whether the write already shows, and 429s are waited out here.
    """
    retry = transport.retry
    attempts = 0
    while True:
        if ambiguous and look is not None and await look():
            return _Landed(done if attempts else "already_existed", attempts, True)
        attempts += 1
        try:
            await _request(transport, call, "wait" if ambiguous else on_rate_limit)
        except (APIError, TransportError, InvalidResponseError) as error:
            landed = recognise(error, ambiguous, attempts)
            if landed is not None:
                return landed
            if not is_ambiguous(error) or attempts > retry.max_retries:
                raise
            ambiguous = True
            await asyncio.sleep(retry.backoff(attempts - 1))
        else:
            return _Landed(done, attempts, False)


def _create_landed(
    error: APIError | TransportError | InvalidResponseError, ambiguous: bool, attempts: int
) -> _Landed | None:
    """A duplicate-slug 400: our own earlier attempt landed, or the object already existed."""
    if not isinstance(error, BadRequestError) or not is_duplicate_slug(error):
        return None
    confirmed = ambiguous and attempts > 1
    return _Landed("created" if confirmed else "already_existed", attempts, confirmed)


def _delete_landed(
    error: APIError | TransportError | InvalidResponseError, ambiguous: bool, attempts: int
) -> _Landed | None:
    """A 404 after an earlier attempt: that attempt deleted it."""
    if not isinstance(error, NotFoundError) or attempts == 1:
        return None
    return _Landed("deleted", attempts, True)


async def _cannot_look() -> bool:
    raise AmbiguousWriteError(
        "the create may have been applied and cannot be checked by reading back"
    )


async def create_resolving(
    transport: Transport,
    call: WriteCall,
    *,
    check_first: bool = False,
    on_rate_limit: OnRateLimit = "wait",
) -> WriteResult:
    """Send a create until it is known to have landed, then make this client's cached
    reads of what it made stale. With `check_first` (resuming a job) the object is looked
    for before any send."""
    probe = None if call.read_back is None else partial(_found, transport, call.read_back)
    landed = await _resolving(
        transport,
        call,
        ambiguous=check_first,
        look=_cannot_look if probe is None else probe,
        recognise=_create_landed,
        done="created",
        on_rate_limit=on_rate_limit,
    )
    pending = landed.outcome == "created"
    result = WriteResult(
        call.kind, call.key, landed.outcome, landed.attempts, pending, landed.confirmed, probe
    )
    await transport.reads.written(call.segments, call.body)
    return result


async def delete_resolving(
    transport: Transport, call: WriteCall, *, on_rate_limit: OnRateLimit = "wait"
) -> WriteResult:
    """Send a delete until it is known to have landed (a 404 after an ambiguous attempt
    means it did), then make this client's cached reads of what it removed stale."""
    landed = await _resolving(
        transport,
        call,
        ambiguous=False,
        look=None,
        recognise=_delete_landed,
        done="deleted",
        on_rate_limit=on_rate_limit,
    )
    gone = partial(_gone, transport, call.segments)
    result = WriteResult(
        call.kind, call.key, "deleted", landed.attempts, False, landed.confirmed, gone
    )
    await transport.reads.written(call.segments, call.body)
    return result


async def _update(transport: Transport, call: WriteCall, on_rate_limit: OnRateLimit) -> WriteResult:
    """Send an update (retried like a read), then make cached reads of it stale."""
    await _request(transport, call, on_rate_limit)
    await transport.reads.written(call.segments, call.body)
    return WriteResult(call.kind, call.key, "updated", 1)
