"""Redirects followed by hand: credentials go along only to the same origin."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aiohttp
from yarl import URL

from ..errors import TransportError
from .urls import redact_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


def follow_redirect(
    target: URL,
    response: aiohttp.ClientResponse,
    headers: Mapping[str, str],
    method: str,
    redact: Callable[[str], str],
) -> tuple[URL, Mapping[str, str]]:
    """Where a redirect leads and the headers to send there.

    A `Location` that is not an http(s) URL with a valid port, or that leaves https for
    plain http, is a TransportError.
    """
    raw_location = response.headers["Location"]
    try:
        location = target.join(URL(raw_location))
        location.port  # noqa: B018  (yarl checks the port range when asked)
        valid = location.scheme in ("http", "https") and bool(location.host)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise TransportError(
            redact(f"redirect to an unusable Location {raw_location[:200]!r}"),
            method=method,
            url=redact_url(target),
        )
    if location.scheme == "http" and target.scheme == "https":
        raise TransportError(
            "redirect from https to plain http refused", method=method, url=redact_url(target)
        )
    if location.origin() == target.origin():
        if "auth_token" in target.query and "auth_token" not in location.query:
            location = location.update_query(auth_token=target.query["auth_token"])
        return location, headers
    stripped = {k: v for k, v in headers.items() if k != "Authorization"}
    return location.without_query_params("auth_token"), stripped
