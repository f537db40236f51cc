"""butter_async: an async, typed, streaming SDK for the ButterCMS API."""

import logging

from .__version__ import __version__
from .bulk import BulkOptions, BulkProgress, BulkReport, BulkResult, BulkWriter
from .cache import CacheStats, MemoryCache, RedisCache
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
from .pagination import AsyncPager, Cursor, InvalidItem, ResultPage
from .resources.posts import PostChanges, PostFields
from .retries import RetryPolicy
from .transport import ClientStats
from .writes import WriteCall, WriteResult


def __getattr__(name: str) -> object:
    """`butter_async.testing` on first use: the emulator (aiohttp.web) is not loaded before."""
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
