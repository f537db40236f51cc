"""What every resource shares: the transport, read parameters, list-page fetching."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..errors import ConfigurationError
from ..models.converter import structure
from ..models.meta import ListMeta
from ..pagination import AsyncPager, Cursor, PaginationMode, ResultPage
from ..transport import Params, QueryValue, Transport

T = TypeVar("T")


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
        *,
        page_size: int,
        prefetch: int | None,
        pagination: PaginationMode,
        resume_from: Cursor | None,
        extract: Callable[[Any], Any] | None = None,
    ) -> AsyncPager[T]:
        """A pager over a list endpoint whose `data` (or `extract(data)`) is a list of items."""
        list_type = list[item_type]

        async def fetch(page_params: dict[str, int], position: int) -> ResultPage[T]:
            payload = await self._transport.get(segments, {**params, **page_params})
            data = payload.get("data") if isinstance(payload, dict) else None
            if extract is not None:
                data = extract(data)
            items: list[T] = structure(data if data is not None else [], list_type)
            meta: ListMeta = structure(payload.get("meta") or {}, ListMeta)
            return ResultPage(items=items, meta=meta, position=position)

        return AsyncPager(
            fetch,
            page_size=page_size,
            prefetch=self._prefetch if prefetch is None else prefetch,
            mode=pagination,
            resume_from=resume_from,
        )

    async def _get_data(self, segments: Sequence[str | int], params: Params, model: Any) -> Any:
        """GET a detail endpoint and structure its `data` into `model`."""
        payload = await self._transport.get(segments, params)
        if not isinstance(payload, dict) or "data" not in payload:
            return structure(None, model)
        return structure(payload["data"], model)


def read_params(
    *,
    preview: bool | None = None,
    locale: str | None = None,
    levels: int | None = None,
    fields: Mapping[str, QueryValue] | None = None,
    order: str | None = None,
    **extra: QueryValue | None,
) -> dict[str, QueryValue | None]:
    """Query parameters shared by page and collection reads; `fields` become `fields.<key>`."""
    if levels is not None and levels < 0:
        raise ConfigurationError("levels must not be negative")
    params: dict[str, QueryValue | None] = {
        "preview": 1 if preview else None,
        "locale": locale,
        "levels": levels,
        "order": order,
        **extra,
    }
    for key, value in (fields or {}).items():
        if not key:
            raise ConfigurationError("field filter keys must not be empty")
        params[f"fields.{key}"] = value
    return params
