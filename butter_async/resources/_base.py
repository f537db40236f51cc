"""What every resource shares: the transport, read parameters, list-page fetching."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import attrs

from ..arguments import is_mapping
from ..cache.coalescing import Decode
from ..errors import (
    ConfigurationError,
    NotFoundError,
    ResponseValidationError,
)
from ..models.converter import explain, structure
from ..models.decoding import Answer, answer_decoder, envelope, exact_json, json_body
from ..models.meta import ListMeta
from ..pagination import (
    MAX_PAGE_SIZE,
    AsyncPager,
    InvalidItem,
    ListOptions,
    PageReader,
    RawItem,
    ResultPage,
    SearchOptions,
    item_identity,
)
from ..transport import Params, QueryValue, Transport
from ..writes import PREVIEW, Probe, WriteCall, WriteResult, send_call

T = TypeVar("T")
#: The keywords of every list and of every search (a TypedDict's keys, its bases' too).
LIST_KEYWORDS = frozenset(ListOptions.__annotations__)
SEARCH_KEYWORDS = frozenset(SearchOptions.__annotations__)


class Resource:
    """Base of the resource families; holds the transport and the default prefetch."""

    def __init__(self, transport: Transport, *, prefetch: int) -> None:
        self._transport = transport
        self._prefetch = prefetch

    def _pager(
        self,
        segments: Sequence[str | int],
        params: Params,
        item_type: Any,
        options: Mapping[str, Any],
        *,
        allowed: frozenset[str] = LIST_KEYWORDS,
        extract: Callable[[Any], Any] | None = None,
        stable_order: bool = True,
    ) -> AsyncPager[T]:
        """A pager over a list endpoint whose `data` (or `extract(data)`) is a list of items.

        `options` are the caller's keywords, those of `allowed` (TypeError for another).

        An item that does not fit `item_type` raises a ResponseValidationError naming it
        and its failing fields; with `on_invalid_item` it is handed there and skipped.
        With `stable_order` (not a relevance-ranked search) the walk corrects for a list
        that moves under it.
        """
        unknown = sorted(options.keys() - allowed)
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
        on_invalid_item = options.get("on_invalid_item")
        list_type = list[item_type]
        decode = answer_decoder(list_type) if extract is None else exact_json

        async def fetch(
            page_params: dict[str, int], position: int, fresh: bool = False
        ) -> PageReader[T]:
            body = await self._transport.get(
                segments, {**params, **page_params}, decode=json_body, fresh=fresh
            )
            return partial(read_page, body, position)

        def read_page(body: bytes | None, position: int) -> ResultPage[T]:
            # None: an empty answer (204, or 200 without a body), which envelope() refuses
            answer = None if body is None else self._decoded(body, decode, segments)
            if isinstance(answer, Answer):  # our models, decoded straight from the JSON
                return ResultPage(answer.data, answer.meta or ListMeta(), position)
            payload = envelope(answer)
            data = payload.get("data")
            if extract is not None:
                data = extract(data)
            if not isinstance(data, list):
                # A list answer without its items must not read as an empty list.
                raise ResponseValidationError(
                    f"list response has no list of items in 'data' (got {type(data).__name__})"
                )
            if item_type is RawItem and all(item.__class__ is dict for item in data):
                items: list[T] = data  # raw=True: the API's own dicts, unstructured
            else:
                try:
                    items = structure(data, list_type)
                except ResponseValidationError:
                    items = self._item_by_item(data, item_type, on_invalid_item)
            meta: ListMeta = self._structure(payload.get("meta") or {}, ListMeta)
            return ResultPage(items=items, meta=meta, position=position)

        prefetch = options.get("prefetch")
        return AsyncPager(
            fetch,
            page_size=options.get("page_size", MAX_PAGE_SIZE),
            prefetch=self._prefetch if prefetch is None else prefetch,
            mode=options.get("pagination", "page"),
            resume_from=options.get("resume_from"),
            identity=item_identity if stable_order else None,
            refetch=partial(fetch, fresh=True),
        )

    async def _send(
        self,
        call: WriteCall,
        *,
        check_first: bool = False,
        verify: bool = False,
        verify_timeout: float = 30.0,
        shows: Callable[[dict[str, Any]], bool] | None = None,
        read_at: Sequence[str | int] | None = None,
    ) -> WriteResult:
        """Send a checked write; `verify` waits until it shows in the read API.

        An update shows once `shows(payload)` holds for the object read at `read_at`
        (default: where the write went), so a rename is checked under its new name.
        ButterCMS applies a write a moment after accepting it, and a read in that moment
        may cache the old content again: once the write shows, that is made stale too.
        """
        result = await send_call(self._transport, call, check_first=check_first)
        if shows is not None:
            result = attrs.evolve(
                result, visible=self._shows_probe(read_at or call.segments, call.locale, shows)
            )
        if verify:
            await result.wait_until_visible(verify_timeout)
            await self._transport.reads.written(call.segments, call.body)
        return result

    def _shows_probe(
        self,
        segments: Sequence[str | int],
        locale: str | None,
        shows: Callable[[dict[str, Any]], bool],
    ) -> Probe:
        """A read-back check: does the object at `segments` read as `shows` wants?"""

        async def probe() -> bool:
            try:
                payload = envelope(
                    await self._transport.get(segments, {**PREVIEW, "locale": locale}, fresh=True)
                )
            except NotFoundError:
                return False
            return shows(payload)

        return probe

    def _decoded(self, body: bytes, decode: Decode, segments: Sequence[str | int]) -> Any:
        """A list page's answer body, decoded when the walk reaches the page."""
        try:
            return decode(body)
        except ValueError:
            url = self._transport.url_for(segments)
            raise self._transport.not_json(body, 200, "GET", url) from None

    async def _get_data(self, segments: Sequence[str | int], params: Params, model: Any) -> Any:
        """GET a detail endpoint and structure its `data` into `model`.

        Structuring is part of decoding the body, so a cached body that does not fit
        (another read's, a damaged one) is known to the cache as a bad entry.
        """
        fast = answer_decoder(model)

        def decode(body: bytes) -> Any:
            answer = fast(body)
            if isinstance(answer, Answer):
                return answer.data
            return self._structure(envelope(answer).get("data"), model)

        return await self._transport.get(segments, params, decode=decode)

    def _item_by_item(
        self,
        data: list[Any],
        item_type: Any,
        on_invalid_item: Callable[[InvalidItem], None] | None,
    ) -> list[Any]:
        """Structure a page that failed as a whole one item at a time, naming the bad ones."""
        items = []
        for position, raw in enumerate(data):
            try:
                items.append(structure(raw, item_type))
            except ResponseValidationError:
                error = ResponseValidationError(
                    self._transport.redact(
                        f"item {_identity(raw, self._transport.redact)} does not fit "
                        f"{_name(item_type)}: "
                        + explain(raw, item_type, f"data[{position}]", self._transport.redact)
                    )
                )
                if on_invalid_item is None:
                    raise error from None
                on_invalid_item(InvalidItem(raw, error))
        return items

    def _structure(self, value: Any, model: Any) -> Any:
        """`structure`, with any token a hostile server echoed masked in the error."""
        try:
            return structure(value, model, "data", self._transport.redact)
        except ResponseValidationError as error:
            failure = ResponseValidationError(self._transport.redact(str(error)))
        raise failure


def _identity(raw: Any, redact: Callable[[str], str]) -> str:
    """How an item of a list answer is named in an error: its slug or id, else its type
    (masked before it is shortened)."""
    if isinstance(raw, dict):
        if isinstance(raw.get("slug"), str):
            return f"slug {redact(raw['slug'])[:80]!r}"
        meta = raw.get("meta")
        if isinstance(meta, dict) and "id" in meta:
            return f"id {redact(str(meta['id']))[:40]}"
    return f"of type {type(raw).__name__}"


def _name(model: Any) -> str:
    origin = getattr(model, "__origin__", model)
    return str(getattr(origin, "__name__", model))


def update_body(
    fields: Mapping[str, Any] | None,
    status: str | None,
) -> dict[str, Any]:
    """A partial update's body: the fields and the status given, at least one of them."""
    body: dict[str, Any] = {}
    if fields is not None:
        if not is_mapping(fields):
            raise ConfigurationError("fields must be a mapping")
        body["fields"] = dict(fields)
    if status is not None:
        body["status"] = status
    if not body:
        raise ConfigurationError("nothing to update: give fields and/or status")
    return body


#: `levels` (reference depth) accepted by page and collection reads, per the API's docs.
MIN_LEVELS, MAX_LEVELS = 1, 5


def read_params(
    *,
    preview: bool | None = None,
    locale: str | None = None,
    levels: int | None = None,
    alt_media_text: bool | None = None,
    fields: Mapping[str, QueryValue] | None = None,
    order: str | None = None,
    **extra: QueryValue | None,
) -> dict[str, QueryValue]:
    """Query parameters shared by page and collection reads, only those given;
    `fields` become `fields.<key>`."""
    if levels is not None and (
        isinstance(levels, bool)
        or not isinstance(levels, int)
        or not MIN_LEVELS <= levels <= MAX_LEVELS
    ):
        raise ConfigurationError(
            f"levels must be an integer from {MIN_LEVELS} to {MAX_LEVELS} (the API's default "
            f"is 2; deeper reference levels answer 400), got {levels!r}"
        )
    # Only what was given: a page view with the defaults sends (and copies) no query.
    params: dict[str, QueryValue] = {}
    if preview:
        params["preview"] = 1
    if locale is not None:
        params["locale"] = locale
    if levels is not None:
        params["levels"] = levels
    if alt_media_text:
        params["alt_media_text"] = 1
    if order is not None:
        params["order"] = order
    for name, given in extra.items():
        if given is not None:
            params[name] = given
    for key, value in (fields or {}).items():
        if not key:
            raise ConfigurationError("field filter keys must not be empty")
        params[f"fields.{key}"] = value
    return params
