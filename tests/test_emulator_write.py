"""The emulator's Write API rules, exercised over raw HTTP as any client would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from butter_async.testing import Emulator, SeedSpec

from .conftest import recipe_fields


class Raw:
    """Plain aiohttp calls to the emulator with a chosen credential."""

    def __init__(self, emulator: Emulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "write",
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers = {}
        query = dict(params or {})
        if token == "write":
            headers["Authorization"] = f"Token {self.emulator.write_token}"
        elif token == "read-header":
            headers["Authorization"] = f"Token {self.emulator.read_token}"
        elif token == "read-query":
            query["auth_token"] = self.emulator.read_token
        elif token is not None:
            headers["Authorization"] = f"Token {token}"
        async with self.session.request(
            method,
            self.emulator.url + path,
            json=body,
            headers=headers,
            params=query,
            allow_redirects=False,
        ) as response:
            if response.status in (204, 301):
                return response.status, response.headers.get("Location")
            return response.status, await response.json()

    async def read(self, path: str, **params: str) -> tuple[int, Any]:
        return await self.call("GET", path, token="read-query", params=params)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=SeedSpec(pages=3, collection_items=3), locales=("en", "fr")) as e:
        yield e


@pytest_asyncio.fixture
async def raw(emu: Emulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        yield Raw(emu, session)


def new_page(slug: str = "soup", **overrides: Any) -> dict[str, Any]:
    return {
        "title": "Soup",
        "slug": slug,
        "page_type": "recipe",
        "fields": recipe_fields(),
        **overrides,
    }


async def test_create_page_answers_pending_and_page_becomes_readable(raw: Raw) -> None:
    assert await raw.call("POST", "pages/", new_page()) == (202, {"status": "pending"})
    status, _ = await raw.read("pages/recipe/soup/")
    assert status == 404  # drafts are only visible in preview
    status, body = await raw.read("pages/recipe/soup/", preview="1")
    assert status == 200
    page = body["data"]
    assert page["name"] == "Soup"
    # Component pickers are written as [{name: fields}] and read as [{type, fields}].
    assert page["fields"]["sections"] == [
        {"type": "hero", "fields": {"headline": "Hot soup", "image": ""}}
    ]


async def test_create_page_validation(raw: Raw) -> None:
    status, body = await raw.call("POST", "pages/", new_page(page_type="nope"))
    assert (status, list(body)) == (400, ["page_type"])
    fields = recipe_fields()
    del fields["hero_image"]
    status, body = await raw.call("POST", "pages/", new_page(fields=fields))
    assert status == 400 and "hero_image" in body["fields"][0]
    status, body = await raw.call("POST", "pages/", new_page(slug=""))
    assert (status, body) == (400, {"slug": ["This field is required."]})
    status, body = await raw.call("POST", "pages/", new_page(status="scheduled"))
    assert status == 400 and "status" in body
    assert (await raw.call("POST", "pages/", new_page()))[0] == 202
    status, body = await raw.call("POST", "pages/", new_page())
    assert status == 400 and "already exists" in body["slug"][0]


async def test_page_update_is_partial_for_patch_and_put(raw: Raw, emu: Emulator) -> None:
    await raw.call("POST", "pages/", new_page(status="published"))
    changes = {
        "fields": {
            "seo": {"title": "Better soup"},
            "ingredients": [{"name": "potato", "grams": 300}],
            "sections": [{"steps": {"steps": ["boil"]}}],
        }
    }
    assert (await raw.call("PATCH", "pages/recipe/soup/", changes))[0] == 202
    assert (await raw.call("PUT", "pages/*/soup/", {"fields": {"servings": 6}}))[0] == 202
    _, body = await raw.read("pages/recipe/soup/")
    fields = body["data"]["fields"]
    assert fields["seo"] == {"title": "Better soup", "description": "Warm"}  # merged
    assert fields["ingredients"] == [{"name": "potato", "grams": 300}]  # replaced whole
    assert fields["sections"] == [{"type": "steps", "fields": {"steps": ["boil"]}}]
    assert fields["servings"] == 6
    assert fields["headline"] == "Soup"  # untouched


async def test_page_title_and_slug_are_immutable(raw: Raw) -> None:
    await raw.call("POST", "pages/", new_page())
    status, body = await raw.call("PATCH", "pages/recipe/soup/", {"title": "Stew"})
    assert status == 400 and "title" in body
    status, body = await raw.call("PATCH", "pages/recipe/soup/", {"slug": "stew"})
    assert status == 400 and "slug" in body
    assert (await raw.call("PATCH", "pages/recipe/missing/", {"fields": {}}))[0] == 404


async def test_page_locales(raw: Raw) -> None:
    fr = recipe_fields(headline="Soupe")
    body = new_page(fields={"en": recipe_fields(), "fr": fr}, status="published")
    assert (await raw.call("POST", "pages/", body))[0] == 202
    _, french = await raw.read("pages/recipe/soup/", locale="fr")
    assert french["data"]["fields"]["headline"] == "Soupe"
    await raw.call(
        "PATCH", "pages/recipe/soup/", {"fields": {"headline": "Potage"}}, params={"locale": "fr"}
    )
    _, french = await raw.read("pages/recipe/soup/", locale="fr")
    _, english = await raw.read("pages/recipe/soup/", locale="en")
    assert (french["data"]["fields"]["headline"], english["data"]["fields"]["headline"]) == (
        "Potage",
        "Soup",
    )
    assert (await raw.read("pages/recipe/soup/", locale="de"))[0] == 400


async def test_delete_page(raw: Raw) -> None:
    await raw.call("POST", "pages/", new_page())
    assert (await raw.call("DELETE", "pages/*/soup/"))[0] == 204
    assert (await raw.call("DELETE", "pages/*/soup/"))[0] == 404


async def test_posts_write_rules(raw: Raw, emu: Emulator) -> None:
    post = {
        "title": "Hello",
        "slug": "hello",
        "status": "published",
        "author": {"email": "sdktests@buttercms.com"},
        "categories": ["Brand New"],
        "tags": ["Fresh Tag"],
        "body": "<p>hi</p>",
    }
    assert await raw.call("POST", "posts/", post) == (202, {"status": "pending"})
    _, body = await raw.read("posts/hello/")
    assert body["data"]["author"]["slug"] == "sdk-tests"
    assert body["data"]["categories"] == [{"name": "Brand New", "slug": "brand-new"}]
    assert "brand-new" in emu.store.categories and "fresh-tag" in emu.store.tags
    status, errors = await raw.call("POST", "posts/", post)
    assert status == 400 and "slug" in errors
    status, errors = await raw.call(
        "POST", "posts/", {**post, "slug": "x", "author": {"slug": "ghost"}}
    )
    assert status == 400 and "author" in errors
    assert (await raw.call("PATCH", "posts/hello/", {"summary": "short"}))[0] == 202
    _, body = await raw.read("posts/hello/")
    assert (body["data"]["summary"], body["data"]["title"]) == ("short", "Hello")
    assert (await raw.call("DELETE", "posts/hello/"))[0] == 204
    assert (await raw.read("posts/hello/"))[0] == 404


async def test_collection_items_write_rules(raw: Raw, emu: Emulator) -> None:
    item = {"name": "Lamp", "sku": "L-1", "price": 30, "in_stock": True}
    body = {"key": "products", "status": "published", "fields": [item]}
    assert await raw.call("POST", "content/", body) == (202, {"status": "pending"})
    _, listing = await raw.read("content/products/", **{"fields.sku": "L-1"})
    [created] = listing["data"]["products"]
    item_id = created["meta"]["id"]
    assert created["name"] == "Lamp"
    assert (await raw.call("PATCH", f"content/products/{item_id}/", {"fields": {"price": 35}}))[
        0
    ] == 202
    _, one = await raw.read(f"content/products/{item_id}/")
    assert (one["data"]["price"], one["data"]["name"]) == (35, "Lamp")
    status, errors = await raw.call("POST", "content/", {**body, "key": "ghosts"})
    assert status == 400 and "key" in errors
    status, errors = await raw.call("POST", "content/", {**body, "fields": [{"name": "x"}]})
    assert status == 400 and "Missing" in errors["fields"][0]
    assert (await raw.call("DELETE", f"content/products/{item_id}/"))[0] == 204
    assert (await raw.call("DELETE", f"content/products/{item_id}/"))[0] == 404


async def test_write_auth_rules(raw: Raw) -> None:
    assert await raw.call("POST", "posts/", {}, token=None) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    assert await raw.call("POST", "posts/", {}, token="read-query") == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    assert await raw.call("POST", "posts/", {}, token="read-header") == (
        403,
        {"detail": "You do not have permission to perform this action."},
    )
    assert await raw.call("POST", "posts/", {}, token="bogus") == (
        401,
        {"detail": "Invalid token."},
    )
    assert (await raw.call("GET", "posts/", token="read-header"))[0] == 200
    assert (await raw.call("GET", "posts/", token=None))[0] == 401


async def test_missing_trailing_slash_answers_301(raw: Raw) -> None:
    status, location = await raw.call("GET", "posts", token="read-query", params={"page": "2"})
    assert status == 301
    assert location is not None and location.endswith(
        "/v2/posts/?page=2&auth_token=" + raw.emulator.read_token
    )


async def test_processing_delay_hides_writes_until_processed(raw: Raw, emu: Emulator) -> None:
    emu.state.processing_delay = 3600
    assert (await raw.call("POST", "pages/", new_page(status="published")))[0] == 202
    assert (await raw.read("pages/recipe/soup/"))[0] == 404
    status, body = await raw.call("POST", "pages/", new_page())
    assert status == 400 and "already exists" in body["slug"][0]
    emu.state.flush_pending()
    assert (await raw.read("pages/recipe/soup/"))[0] == 200


async def test_pagination_rules(raw: Raw) -> None:
    _, body = await raw.read("posts/", page_size="500")
    assert body["meta"]["count"] == 1 and len(body["data"]) == 1
    status, _ = await raw.read("posts/", page="1", limit="5")
    assert status == 400
    _, body = await raw.read("content/products/", limit="2", offset="1")
    assert body["meta"] == {"count": 3, "next_offset": None, "previous_offset": 0}
    assert len(body["data"]["products"]) == 2
    status, body = await raw.read("posts/", page="0")
    assert status == 400 and "page" in body
