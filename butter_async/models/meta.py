"""Pagination metadata of list responses."""

from __future__ import annotations

import attrs


@attrs.define
class ListMeta:
    """`count` plus the page-based or offset-based neighbours, whichever the request used."""

    count: int | None = None
    next_page: int | None = None
    previous_page: int | None = None
    next_offset: int | None = None
    previous_offset: int | None = None
