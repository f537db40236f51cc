"""Write methods against the emulator: results, validation, and ambiguous failures resolved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import pytest_asyncio

from butter_async import (
    BadRequestError,
    ButterClient,
    ConfigurationError,
    MissingWriteTokenError,
    NotFoundError,
    RetryPolicy,
)
from butter_async.errors import (
    InvalidOperationError,
    RequestTimeoutError,
    VisibilityTimeoutError,
)
from butter_async.operations import (
    CreateItem,
    CreatePage,
    CreatePost,
    DeleteItem,
    DeletePage,
    UpdateItem,
    UpdatePage,
)
from butter_async.resources.pages import page_create, page_delete
from butter_async.testing import Emulator, Fault, SeedSpec
from butter_async.writes import create_resolving, delete_resolving

from .conftest import recipe_fields

FAST = RetryPolicy(max_retries=3, backoff_base=0.0, backoff_max=0.0, retry_after_cap=5)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=SeedSpec(pages=2, collection_items=2)) as e:
        yield e


@pytest_asyncio.fixture
async def butter(emu: Emulator) -> AsyncIterator[ButterClient]:
    async with emu.client(retry=FAST, timeout=2) as client:
        yield client


def posts_sent(emu: Emulator, path: str) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path == path)


async def test_page_create_update_delete(emu: Emulator, butter: ButterClient) -> None:
    created = await butter.pages.create("recipe", "soup", "Soup", recipe_fields(), verify=True)
    assert (created.kind, created.key, created.outcome, created.pending) == (
        "page",
        "soup",
        "created",
        True,
    )
    assert created.attempts == 1 and not created.confirmed_by_read
    page = await butter.pages.get("recipe", "soup", preview=True)
    assert page.fields["sections"][0]["type"] == "hero"

    updated = await butter.pages.update(
        "recipe", "soup", fields={"servings": 4}, status="published", method="PUT", verify=True
    )
    assert (await butter.pages.update("*", "soup", fields={"headline": "Stew"})).pending
    assert updated.outcome == "updated"
    assert (await butter.pages.get("recipe", "soup")).fields["servings"] == 4

    deleted = await butter.pages.delete("soup")
    assert deleted.outcome == "deleted"
    await deleted.wait_until_visible(timeout=1)
    assert "soup" not in emu.store.page_slugs()
    with pytest.raises(NotFoundError):
        await butter.pages.delete("soup")


async def test_duplicate_slug_is_reported_as_already_existing(
    emu: Emulator, butter: ButterClient
) -> None:
    await butter.pages.create("recipe", "soup", "Soup", recipe_fields())
    again = await butter.pages.create("recipe", "soup", "Soup", recipe_fields())
    assert again.outcome == "already_existed"
    assert len([p for p in emu.store.page_slugs() if p == "soup"]) == 1


async def test_schema_errors_surface_as_bad_request(butter: ButterClient) -> None:
    fields = recipe_fields()
    del fields["servings"]
    with pytest.raises(BadRequestError) as caught:
        await butter.pages.create("recipe", "soup", "Soup", fields)
    assert "servings" in caught.value.field_errors["fields"][0]
    with pytest.raises(BadRequestError) as caught:
        await butter.pages.update("recipe", "recipe-000000", fields={"nope": 1})
    assert "fields" in caught.value.field_errors


async def test_writes_need_a_write_token_before_any_request(emu: Emulator) -> None:
    async with emu.client(write=False) as reader:
        with pytest.raises(MissingWriteTokenError):
            await reader.pages.create("recipe", "soup", "Soup", recipe_fields())
        with pytest.raises(MissingWriteTokenError):
            await reader.posts.delete("example-post")
        with pytest.raises(MissingWriteTokenError):
            await reader.collections.create_item("products", {"name": "x"})
        with pytest.raises(MissingWriteTokenError):
            await reader.send(DeletePage("soup").prepare())
    assert emu.requests == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.pages.create("recipe", "", "Soup", {}), "slug"),
        (lambda b: b.pages.create("recipe", "s", "Soup", {}, status="live"), "status"),
        (lambda b: b.pages.update("recipe", "s"), "nothing to update"),
        (lambda b: b.pages.update("recipe", "s", fields={}, method="POST"), "PATCH"),
        (lambda b: b.posts.create("s", "T", author_slug="a", author_email="e"), "not both"),
        (lambda b: b.posts.create("s", "T", tags="news"), "tags"),
        (lambda b: b.collections.create_item("products", {}), "fields"),
    ],
)
async def test_bad_arguments_fail_before_any_request(
    emu: Emulator, butter: ButterClient, call: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await call(butter)
    assert emu.requests == []


async def test_ambiguous_create_is_resolved_by_reading_back(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.faults.add(Fault("reset_after", path="pages/", methods=("POST",), nth=1))
    result = await butter.pages.create("recipe", "soup", "Soup", recipe_fields())
    assert (result.outcome, result.confirmed_by_read, result.attempts) == ("created", True, 1)
    assert posts_sent(emu, "pages/") == 1
    assert "soup" in emu.store.page_slugs()


async def test_create_answered_with_an_html_page_is_checked_not_taken_as_done(
    emu: Emulator, butter: ButterClient
) -> None:
    # A proxy's 200 page in place of the API's answer: the create is not known to have
    # landed (a write's body is only checked to look like JSON, never parsed).
    emu.faults.add(Fault("html", path="pages/", methods=("POST",), nth=1, status=200))
    result = await butter.pages.create("recipe", "soup", "Soup", recipe_fields())
    assert (result.outcome, result.attempts) == ("created", 2)
    assert posts_sent(emu, "pages/") == 2
    assert emu.store.page_slugs().count("soup") == 1


async def test_ambiguous_create_still_processing_is_not_duplicated(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.state.processing_delay = 3600
    emu.faults.add(Fault("reset_after", path="posts/", methods=("POST",), nth=1))
    result = await butter.posts.create("hello", "Hello", author_slug="sdk-tests")
    # Not readable yet, so it was sent again; the API refused the duplicate slug.
    assert (result.outcome, result.confirmed_by_read, result.attempts) == ("created", True, 2)
    emu.state.flush_pending()
    assert sum(1 for slug in emu.store.posts if slug == "hello") == 1


async def test_create_timing_out_after_apply_is_resolved(emu: Emulator) -> None:
    hang = emu.faults.add(Fault("hang_after", path="posts/", methods=("POST",), nth=1, seconds=2))
    async with emu.client(retry=FAST, timeout=0.1) as butter:
        result = await butter.posts.create("hello", "Hello", status="published")
    assert (result.outcome, result.confirmed_by_read) == ("created", True)
    assert hang.seen == 1  # one POST reached the server: the read-back stopped a second
    assert "hello" in emu.store.posts


async def test_create_refused_with_503_is_simply_retried(
    emu: Emulator, butter: ButterClient
) -> None:
    emu.faults.add(Fault("status", path="posts/", methods=("POST",), nth=1, status=503))
    result = await butter.posts.create("hello", "Hello")
    assert (result.outcome, result.confirmed_by_read) == ("created", False)
    assert posts_sent(emu, "posts/") == 2


async def test_post_write_fields(emu: Emulator, butter: ButterClient) -> None:
    await butter.posts.create(
        "hello",
        "Hello",
        body="<p>Hi</p>",
        summary="Short",
        status="published",
        author_email="sdktests@buttercms.com",
        categories=["Guides"],
        tags=["Async", "Python"],
        featured_image="https://example.com/a.png",
        seo_title="Hello SEO",
        meta_description="Desc",
        upload_images_to_media_library=True,
    )
    detail = await butter.posts.get("hello")
    post = detail.post
    assert post.author is not None and post.author.slug == "sdk-tests"
    assert [c.slug for c in post.categories] == ["guides"]
    assert [t.name for t in post.tags] == ["Async", "Python"]
    assert (post.seo_title, post.featured_image) == ("Hello SEO", "https://example.com/a.png")
    await butter.posts.update("hello", title="Hello again", verify=True)
    assert (await butter.posts.get("hello")).post.title == "Hello again"
    assert (await butter.posts.delete("hello")).outcome == "deleted"
    with pytest.raises(BadRequestError, match="author"):
        await butter.posts.create("x", "X", author_slug="ghost")


async def test_collection_item_writes(emu: Emulator, butter: ButterClient) -> None:
    fields = {"name": "Lamp", "sku": "L-1", "price": 30, "in_stock": True}
    emu.faults.add(Fault("reset_after", path="content/", methods=("POST",), nth=1))
    created = await butter.collections.create_item("products", fields, status="published")
    assert (created.outcome, created.confirmed_by_read) == ("created", True)
    lamps = [i for i in emu.store.items["products"].values() if i.fields[None]["sku"] == "L-1"]
    assert len(lamps) == 1
    item_id = lamps[0].id
    await butter.collections.update_item("products", item_id, {"price": 35}, verify=True)
    assert (await butter.collections.get_item("products", item_id)).fields["price"] == 35
    assert (await butter.collections.delete_item("products", item_id)).outcome == "deleted"
    assert item_id not in emu.store.items["products"]


async def test_verify_times_out_when_processing_lags(emu: Emulator, butter: ButterClient) -> None:
    emu.state.processing_delay = 3600
    with pytest.raises(VisibilityTimeoutError):
        await butter.pages.create(
            "recipe", "soup", "Soup", recipe_fields(), verify=True, verify_timeout=0.05
        )


async def test_multi_locale_page_create() -> None:
    emu = Emulator(seed=SeedSpec(pages=1), locales=("en", "fr"))
    async with emu, emu.client(retry=FAST) as butter:
        fields = {"en": recipe_fields(), "fr": recipe_fields(headline="Soupe")}
        await butter.pages.create("recipe", "soup", "Soup", fields, status="published")
        french = await butter.pages.get("recipe", "soup", locale="fr")
        assert french.fields["headline"] == "Soupe"
        await butter.pages.update("recipe", "soup", fields={"headline": "Potage"}, locale="fr")
        french = await butter.pages.get("recipe", "soup", locale="fr")
        assert french.fields["headline"] == "Potage"
        assert (await butter.pages.get("recipe", "soup")).fields["headline"] == "Soup"


class AmbiguousOnce:
    """A stand-in transport: the first write times out, reads find nothing, and every call
    notes whether 429s would reach the caller."""

    retry = FAST

    def __init__(self) -> None:
        self.seen: list[bool] = []
        self.reads = self
        self.written_to: list[tuple[str | int, ...]] = []

    async def request(self, method: str, segments: Any, **options: Any) -> Any:
        self.seen.append(options.get("on_rate_limit", "wait") == "raise")
        if len(self.seen) == 1:
            raise RequestTimeoutError("timed out", method=method, url="/v2/pages/")
        return None, b"{}"

    async def get(self, segments: Any, params: Any = None, **options: Any) -> Any:
        self.seen.append(False)  # a read always waits 429s out
        raise NotFoundError(status=404, detail="Not found", method="GET", url="/v2/pages/")

    async def written(self, segments: tuple[str | int, ...], body: Any) -> None:
        self.written_to.append(segments)


@pytest.mark.parametrize("kind", ["create", "delete"])
async def test_only_the_attempts_after_an_ambiguous_one_ride_out_429s(kind: str) -> None:
    # A bulk worker asks for 429s back (its gate paces them); once a write may have been
    # applied the write rides them out itself, and only until the write is resolved.
    transport: Any = AmbiguousOnce()
    if kind == "create":
        call = page_create("recipe", "soup", "Soup", recipe_fields())
        result = await create_resolving(transport, call, on_rate_limit="raise")
        assert transport.written_to == [("pages",)]  # its cached reads made stale
        # sent, timed out, looked for (absent), sent again
        assert (result.outcome, result.attempts, result.confirmed_by_read) == (
            "created",
            2,
            False,
        )
        assert len(transport.seen) == 3
    else:
        result = await delete_resolving(transport, page_delete("soup"), on_rate_limit="raise")
        assert transport.written_to == [("pages", "*", "soup")]
        assert (result.outcome, result.attempts, result.confirmed_by_read) == (
            "deleted",
            2,
            False,
        )
    seen = transport.seen
    assert seen[0] is True and not any(seen[1:])  # the first raises 429s, the rest ride out
    assert transport.written_to == [call.segments if kind == "create" else ("pages", "*", "soup")]


async def test_an_operation_prepares_a_write_the_client_sends(
    emu: Emulator, butter: ButterClient
) -> None:
    create = CreatePage("recipe", "soup", "Soup", recipe_fields()).prepare()
    assert (create.method, create.segments, create.key) == ("POST", ("pages",), "soup")
    assert orjson.loads(create.content or b"") == create.body  # what was checked is sent

    made = await butter.send(create)
    assert (made.outcome, made.attempts, made.pending) == ("created", 1, True)
    await made.wait_until_visible(timeout=1)  # the read-back finds the new draft
    again = await butter.send(create)
    assert again.outcome == "already_existed"
    assert (await butter.send(create, check_first=True)).attempts == 0  # found, not sent
    assert emu.store.page_slugs().count("soup") == 1

    update = UpdatePage("soup", {"headline": "Broth"}, page_type="recipe").prepare()
    assert (await butter.send(update)).outcome == "updated"
    assert (await butter.pages.get("recipe", "soup", preview=True)).fields["headline"] == "Broth"

    gone = await butter.send(DeletePage("soup", page_type="recipe").prepare())
    assert gone.outcome == "deleted"
    await gone.wait_until_visible(timeout=1)
    assert "soup" not in emu.store.page_slugs()


@pytest.mark.parametrize(
    ("operation", "complaint"),
    [
        (CreatePage("recipe", "soup", "Soup", {}, status="live"), "status must be"),  # type: ignore[arg-type]
        (UpdatePage("soup"), "nothing to update"),
        (UpdatePage("soup", {"a": 1}, method="POST"), "method must be"),
        (UpdateItem("products", "seven", {"name": "x"}), "item_id must be"),  # type: ignore[arg-type]
        (DeleteItem("products", True), "item_id must be"),
        (CreatePost("hello", "Hello", {"colour": "red"}), "unknown post field"),  # type: ignore[typeddict-unknown-key]
        (CreatePage("recipe", "soup", "Soup", {"when": object()}), "not JSON-serialisable"),
        (CreateItem("products", {"name": "x"}, match_on="sku"), "sku: is required to match"),
    ],
)
async def test_an_operation_that_cannot_be_sent_fails_alone_and_sends_nothing(
    emu: Emulator, butter: ButterClient, operation: Any, complaint: str
) -> None:
    with pytest.raises(InvalidOperationError, match=complaint):
        operation.prepare()
    writes_before = [r for r in emu.requests if r.method != "GET"]
    report = await butter.bulk_run([operation], keep_results=True)
    assert report.counts["failed"] == 1 and report.results is not None
    assert complaint in str(report.results[0].detail)
    assert [r for r in emu.requests if r.method != "GET"] == writes_before


async def test_public_write_methods_refuse_a_bad_item_id_before_sending(
    emu: Emulator, butter: ButterClient
) -> None:
    sent = len(emu.requests)
    for item_id in ("seven", -1, True):
        with pytest.raises(ConfigurationError, match="item_id must be"):
            await butter.collections.update_item("products", item_id, {"name": "x"})  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="item_id must be"):
            await butter.collections.delete_item("products", item_id)  # type: ignore[arg-type]
    assert len(emu.requests) == sent


async def test_the_payload_limit_counts_the_request_body_as_sent(butter: ButterClient) -> None:
    def soup() -> CreatePage:
        return CreatePage("recipe", "soup", "Soup", recipe_fields())

    size = len(soup().prepare().content or b"")
    refused = await butter.bulk_run([soup()], max_payload_bytes=size - 1, keep_results=True)
    assert refused.counts["failed"] == 1 and refused.results is not None
    assert f"payload of {size} bytes exceeds the {size - 1}-byte limit" in str(
        refused.results[0].detail
    )
    accepted = await butter.bulk_run([soup()], max_payload_bytes=size)
    assert accepted.counts["created"] == 1
