"""Checks of what callers pass, made before anything is sent to the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .errors import ConfigurationError

PublishStatus = Literal["draft", "published"]


def require_text(**values: object) -> None:
    """Refuse empty or non-string identifiers (raising ConfigurationError)."""
    for name, value in values.items():
        if not isinstance(value, str) or not value or value.isspace():
            raise ConfigurationError(f"{name} is required and must be a non-empty string")


def is_mapping(value: object) -> bool:
    """`isinstance(value, Mapping)`, answering for a dict without the ABC's Python-level check."""
    return isinstance(value, (dict, Mapping))


def check_status(status: object) -> None:
    """Refuse a publication status the Write API does not know (None means "not given")."""
    if status is not None and status not in ("draft", "published"):
        raise ConfigurationError(f"status must be 'draft' or 'published', got {status!r}")


def check_method(method: object) -> Literal["PATCH", "PUT"]:
    """The update method, refusing any other than PATCH or PUT."""
    if method == "PATCH" or method == "PUT":
        return method
    raise ConfigurationError("method must be 'PATCH' or 'PUT'")
