"""butter_async: an async, typed, streaming SDK for the ButterCMS API."""

import logging

from ._version import __version__
from .client import ButterClient
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ButterError,
    ClientClosedError,
    ConfigurationError,
    InvalidResponseError,
    MethodNotAllowedError,
    MissingWriteTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    TransportError,
)
from .models import (
    Author,
    Category,
    CollectionItem,
    Fields,
    ListMeta,
    Page,
    Post,
    PostDetail,
    PostSummary,
    Tag,
)
from .pagination import AsyncPager, Cursor, ResultPage
from .retries import RetryPolicy
from .transport import ClientStats

# A library logs to "butter_async" and leaves output to the application.
logging.getLogger("butter_async").addHandler(logging.NullHandler())

__all__ = [
    "APIError",
    "AsyncPager",
    "AuthenticationError",
    "Author",
    "BadRequestError",
    "ButterClient",
    "ButterError",
    "Category",
    "ClientClosedError",
    "ClientStats",
    "CollectionItem",
    "ConfigurationError",
    "Cursor",
    "Fields",
    "InvalidResponseError",
    "ListMeta",
    "MethodNotAllowedError",
    "MissingWriteTokenError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "Post",
    "PostDetail",
    "PostSummary",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseValidationError",
    "ResultPage",
    "RetryPolicy",
    "ServerError",
    "Tag",
    "TransportError",
    "__version__",
]
