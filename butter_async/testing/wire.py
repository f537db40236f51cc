"""What the emulator's handlers share: reading requests and writing JSON answers."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .state import state_of
from .store import JSON, MAX_LEVELS, MIN_LEVELS, Listing, StoreError, paginate
from .store.records import DEFAULT_LEVELS

API_ROOT = "/v2/"
PENDING: JSON = {"status": "pending"}


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response serialised with orjson."""
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def field_params(request: web.Request) -> dict[str, str]:
    return {k[7:]: v for k, v in request.query.items() if k.startswith("fields.") and k[7:]}


def check_levels(request: web.Request) -> int:
    """The depth references are expanded to: `levels`, 400 outside 1-5 as the API answers
    (pages and collections), `DEFAULT_LEVELS` when not given."""
    raw = request.query.get("levels")
    if raw is None:
        return DEFAULT_LEVELS
    try:
        levels = int(raw)
    except ValueError:
        levels = 0
    if not MIN_LEVELS <= levels <= MAX_LEVELS:
        raise StoreError(
            400, {"levels": [f"levels must be between {MIN_LEVELS} and {MAX_LEVELS}."]}
        )
    return levels


def check_locale(request: web.Request) -> str | None:
    """The `locale` parameter, 400 if the account does not have it."""
    locale = request.query.get("locale")
    state_of(request).store.resolve_locale(locale)
    return locale


async def json_body(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise StoreError(400, {"detail": "JSON parse error."}) from None


def paginate_request(records: list[Any], request: web.Request) -> Listing:
    return paginate(records, request.query)


def accepted(warnings: list[str] | None = None) -> web.Response:
    return json_response({**PENDING, "warnings": warnings} if warnings else PENDING, 202)


def no_content() -> web.Response:
    return web.Response(status=204)
