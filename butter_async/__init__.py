"""butter_async: an async, typed, streaming SDK for the ButterCMS API.

Public: the names in `__all__`; the modules `client`, `errors`, `images`, `operations`,
`retries`, `typed` (what generated content modules build on), `webhooks` and `writes`;
the packages `bulk`, `cache`, `jobs`, `models`, `pagination`, `testing`, `transport` and
`typegen`; and `cli`, the `butter-async` command line.
Internal, free to change: `arguments`, `content_schema`, `heap`, `redis_client` and
`resources` (reached through `ButterClient`).
"""

import importlib
import logging
from typing import TYPE_CHECKING

from .__version__ import __version__
from .cache.stats import CacheStats
from .client import ButterClient
from .errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ButterError,
    CacheBackendError,
    ClientClosedError,
    ConfigurationError,
    ImportTargetError,
    InvalidOperationError,
    InvalidResponseError,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    JsonLinesError,
    MethodNotAllowedError,
    MissingWriteTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    TransportError,
    VisibilityTimeoutError,
    WebhookError,
)
from .models import (
    Author,
    Category,
    CollectionItem,
    Fields,
    ListMeta,
    Media,
    Page,
    Post,
    PostDetail,
    PostSummary,
    Tag,
)
from .pagination import AsyncPager, Cursor, InvalidItem, ResultPage
from .resources.posts import PostChanges, PostFields
from .retries import RetryPolicy
from .transport import ClientStats
from .writes import WriteCall, WriteResult

if TYPE_CHECKING:
    from . import testing as testing
    from .bulk import BulkOptions, BulkProgress, BulkReport, BulkResult, BulkWriter
    from .cache import MemoryCache, RedisCache
    from .operations import (
        CreateItem,
        CreatePage,
        CreatePost,
        DeleteItem,
        DeletePage,
        DeletePost,
        Operation,
        UpdateItem,
        UpdatePage,
        UpdatePost,
    )

#: Names loaded on first use, and the module each comes from: a web app or a serverless
#: function that only reads does not pay at start for the bulk writer, the cache
#: backends, the operations or the emulator (`testing`, which loads aiohttp.web).
_LAZY = {
    **dict.fromkeys(
        ("BulkOptions", "BulkProgress", "BulkReport", "BulkResult", "BulkWriter"), ".bulk"
    ),
    **dict.fromkeys(("MemoryCache", "RedisCache"), ".cache"),
    **dict.fromkeys(
        (
            "CreateItem",
            "CreatePage",
            "CreatePost",
            "DeleteItem",
            "DeletePage",
            "DeletePost",
            "Operation",
            "UpdateItem",
            "UpdatePage",
            "UpdatePost",
        ),
        ".operations",
    ),
}


def __getattr__(name: str) -> object:
    """Load a lazy name (see `_LAZY`), or the `testing` package, on first use."""
    if name == "testing":
        return importlib.import_module(".testing", __name__)
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "testing"})


# A library logs to "butter_async" and leaves output to the application.
logging.getLogger("butter_async").addHandler(logging.NullHandler())

__all__ = [
    "APIError",
    "AmbiguousWriteError",
    "AsyncPager",
    "AuthenticationError",
    "Author",
    "BadRequestError",
    "BulkOptions",
    "BulkProgress",
    "BulkReport",
    "BulkResult",
    "BulkWriter",
    "ButterClient",
    "ButterError",
    "CacheBackendError",
    "CacheStats",
    "Category",
    "ClientClosedError",
    "ClientStats",
    "CollectionItem",
    "ConfigurationError",
    "CreateItem",
    "CreatePage",
    "CreatePost",
    "Cursor",
    "DeleteItem",
    "DeletePage",
    "DeletePost",
    "Fields",
    "ImportTargetError",
    "InvalidItem",
    "InvalidOperationError",
    "InvalidResponseError",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JsonLinesError",
    "ListMeta",
    "Media",
    "MemoryCache",
    "MethodNotAllowedError",
    "MissingWriteTokenError",
    "NotFoundError",
    "Operation",
    "Page",
    "PermissionDeniedError",
    "Post",
    "PostChanges",
    "PostDetail",
    "PostFields",
    "PostSummary",
    "RateLimitError",
    "RedisCache",
    "RequestTimeoutError",
    "ResponseValidationError",
    "ResultPage",
    "RetryPolicy",
    "ServerError",
    "Tag",
    "TransportError",
    "UpdateItem",
    "UpdatePage",
    "UpdatePost",
    "VisibilityTimeoutError",
    "WebhookError",
    "WriteCall",
    "WriteResult",
    "__version__",
]
