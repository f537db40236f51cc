"""The public surface is pinned: nothing users import disappears or appears by accident."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

PUBLIC = {
    "butter_async": {
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
        "InvalidItem",
        "InvalidOperationError",
        "InvalidResponseError",
        "JournalError",
        "JournalLockedError",
        "JournalMismatchError",
        "ImportTargetError",
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
    },
    "butter_async.testing": {
        "CollectionSchema",
        "ContentStore",
        "DEFAULT_READ_TOKEN",
        "DEFAULT_WRITE_TOKEN",
        "Delivery",
        "Emulator",
        "Fault",
        "FaultPlan",
        "FieldKind",
        "PageType",
        "RedisServer",
        "RequestRecord",
        "SeedSpec",
        "SlidingWindow",
        "TokenBucket",
        "WebhookTarget",
        "emulator_in_thread",
        "jittered",
        "seeded_store",
    },
    "butter_async.operations": {
        "CreateItem",
        "CreatePage",
        "CreatePost",
        "DEFAULT_MAX_PAYLOAD_BYTES",
        "DeleteItem",
        "DeletePage",
        "DeletePost",
        "Operation",
        "UpdateItem",
        "UpdatePage",
        "UpdatePost",
        "WriteClient",
        "WriteOperation",
    },
    "butter_async.cache": {
        "CacheBackend",
        "CacheStats",
        "MemoryCache",
        "ReadCache",
        "RedisCache",
        "event_tags",
        "read_tags",
    },
    "butter_async.webhooks": {
        "Action",
        "CollectionItemEvent",
        "ContentKind",
        "DEFAULT_MAX_BODY",
        "DEFAULT_SECRET_HEADER",
        "EventData",
        "Invalidates",
        "MediaEvent",
        "PageEvent",
        "PostEvent",
        "UnknownEvent",
        "WebhookEvent",
        "aiohttp_handler",
        "parse_event",
        "verify_secret",
    },
    "butter_async.images": {
        "Align",
        "Fit",
        "ImageFormat",
        "ImageURL",
        "MAX_DIMENSION",
        "image",
    },
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_exported_members(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        member = getattr(module, name)  # every exported name resolves
        if inspect.isclass(member) or inspect.isfunction(member):
            # Defined in this package, never re-exported from a third-party library.
            assert member.__module__.startswith("butter_async"), (name, member.__module__)


def test_testing_is_an_attribute_without_loading_aiohttp_web_at_import() -> None:
    code = (
        "import sys, butter_async\n"
        "assert 'aiohttp.web' not in sys.modules, 'imported eagerly'\n"
        "assert butter_async.testing.Emulator.__name__ == 'Emulator'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_bulk_writer_cache_backends_and_webhook_parser_load_on_first_use() -> None:
    # A web app or serverless function that only reads does not pay for them at start.
    code = (
        "import sys, butter_async\n"
        "later = ['butter_async.bulk', 'butter_async.cache.backends', "
        "'butter_async.cache.redis_backend', 'butter_async.webhooks', "
        "'butter_async.operations', 'aiolimiter', 'sqlite3']\n"
        "loaded = [name for name in later if name in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert butter_async.BulkWriter.__name__ == 'BulkWriter'\n"
        "assert butter_async.MemoryCache.__name__ == 'MemoryCache'\n"
        "assert butter_async.CreatePage.__name__ == 'CreatePage'\n"
        "assert 'butter_async.bulk' in sys.modules\n"
        "assert {'BulkWriter', 'RedisCache', 'testing'} <= set(dir(butter_async))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
