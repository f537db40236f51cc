"""The hand-written blog and page hooks agree with cattrs' generated ones, field by field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from cattrs.gen import make_dict_structure_fn

from butter_async import Author, Category, Page, Post, ResponseValidationError, Tag
from butter_async.models.converter import converter, structure
from butter_async.testing import Emulator

from .conftest import RECORDED, recorded

BLOG_MODELS = [Author, Category, Tag, Post]


def generated_hook(cls: Any) -> Callable[[Any, Any], Any]:
    """What cattrs would generate for `cls` with our converter's field hooks."""
    attrs.resolve_types(getattr(cls, "__origin__", cls))
    return make_dict_structure_fn(cls, converter)  # type: ignore[no-any-return]


def label(slug: str, **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "name": slug.title(), **extra}


def full_author(slug: str = "ada", **extra: Any) -> dict[str, Any]:
    """An author with every field set, each to a different value."""
    names = [field.name for field in attrs.fields(Author) if field.name != "recent_posts"]
    return {**{name: f"{slug}-{name}" for name in names}, **extra}


def full_post(slug: str = "hello", **extra: Any) -> dict[str, Any]:
    """A post with every field set, each to a different value."""
    text_fields = ["title", "status", "url", "body", "summary", "seo_title"]
    text_fields += ["meta_description", "featured_image", "featured_image_alt"]
    return {
        "slug": slug,
        **{name: f"{slug}-{name}" for name in text_fields},
        "created": "2024-05-17T14:13:46.787544Z",
        "updated": "2024-05-18T08:00:00+02:00",
        "published": "2024-05-19T10:00:00",
        "deleted": "2024-05-20T10:00:00Z",
        "author": full_author(),
        "categories": [label("news"), label("guides")],
        "tags": [label("python"), label("async"), label("cms")],
        "rank": 0.75,
        **extra,
    }


FULL: dict[type[Any], dict[str, Any]] = {
    Author: full_author(recent_posts=[full_post("a1"), full_post("a2")]),
    Category: label("news", recent_posts=[full_post("c1")]),
    Tag: label("python", recent_posts=[full_post("t1")]),
    Post: full_post(),
}


@pytest.mark.parametrize("cls", BLOG_MODELS, ids=lambda cls: cls.__name__)
def test_every_field_is_read_and_matches_the_generated_hook(cls: type[Any]) -> None:
    ours = structure(FULL[cls], cls)
    assert ours == generated_hook(cls)(FULL[cls], cls)
    for field in attrs.fields(cls):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        assert getattr(ours, field.name) != default, f"{cls.__name__}.{field.name} not read"


@pytest.mark.parametrize("cls", BLOG_MODELS, ids=lambda cls: cls.__name__)
def test_a_slug_alone_gives_the_defaults(cls: type[Any]) -> None:
    ours = structure({"slug": "only"}, cls)
    assert ours == generated_hook(cls)({"slug": "only"}, cls) == cls(slug="only")


def test_post_values_keep_their_meaning() -> None:
    post = structure(full_post(rank="1.5", url=42), Post)
    assert post.created == datetime(2024, 5, 17, 14, 13, 46, 787544, tzinfo=UTC)
    assert post.published == datetime(2024, 5, 19, 10, 0, tzinfo=UTC)  # naive is UTC
    assert post.updated is not None and post.updated.utcoffset() is not None
    assert post.updated.astimezone(UTC).hour == 6
    assert post.author is not None and post.author.email == "ada-email"
    assert [tag.slug for tag in post.tags] == ["python", "async", "cms"]
    assert [category.name for category in post.categories] == ["News", "Guides"]
    assert post.rank == 1.5 and post.url == "42"


def test_null_lists_are_empty_and_null_author_is_none() -> None:
    post = structure({"slug": "p", "tags": None, "categories": None, "author": None}, Post)
    assert (post.tags, post.categories, post.author) == ([], [], None)


@pytest.mark.parametrize(
    "value",
    [
        {"title": "no slug"},
        {"slug": None},
        {"slug": ["a"]},
        {"slug": "p", "title": {"text": "a dict"}},
        {"slug": "p", "created": 1716000000},
        {"slug": "p", "created": "yesterday"},
        {"slug": "p", "author": "ada"},
        {"slug": "p", "author": {"first_name": "no slug"}},
        {"slug": "p", "tags": [{"name": "no slug"}]},
        {"slug": "p", "tags": "python"},
        {"slug": "p", "categories": 3},
        {"slug": "p", "rank": "high"},
        ["not", "an", "object"],
    ],
)
def test_a_post_that_does_not_fit_is_one_clear_error(value: Any) -> None:
    with pytest.raises(ResponseValidationError, match="does not fit Post"):
        structure(value, Post)


def test_a_null_slug_is_an_error_not_the_text_none() -> None:
    with pytest.raises(ResponseValidationError):
        structure({"slug": None}, Tag)


FULL_PAGE = {
    "slug": "home",
    "name": "Home",
    "page_type": "landing",
    "published": "2024-05-17T14:13:46.787544Z",
    "updated": "2024-05-18T08:00:00+02:00",
    "scheduled": "2024-05-19T10:00:00",
    "status": "draft",
    "fields": {"headline": "Hi", "ingredients": [{"name": "salt", "grams": 5}]},
}


@attrs.define
class _Landing:
    headline: str
    ingredients: list[dict[str, Any]]


@pytest.mark.parametrize("cls", [Page, Page[dict[str, Any]], Page[_Landing]], ids=str)
def test_page_hook_reads_every_field_as_the_generated_hook(cls: Any) -> None:
    ours = structure(FULL_PAGE, cls)
    assert ours == generated_hook(cls)(FULL_PAGE, cls)
    for field in attrs.fields(Page):
        assert getattr(ours, field.name) not in (None, {}), f"Page.{field.name} not read"
    assert ours.published == datetime(2024, 5, 17, 14, 13, 46, 787544, tzinfo=UTC)
    bare = {"slug": "s", "fields": {"headline": "x", "ingredients": []}}
    assert structure(bare, cls) == generated_hook(cls)(bare, cls)


def test_a_page_that_does_not_fit_names_the_field() -> None:
    with pytest.raises(ResponseValidationError, match=r"published.*got 'soon'"):
        structure({**FULL_PAGE, "published": "soon"}, Page, "data")
    with pytest.raises(ResponseValidationError, match="fields"):
        structure({"slug": "s"}, Page, "data")


RECORDED_BLOG = {
    "authors__test_author_all_with_posts": list[Author],
    "authors__test_author_get_with_posts": Author,
    "categories__test_category_all_with_recent_posts": list[Category],
    "categories__test_category_get_with_recent_posts": Category,
    "tags__test_tag_all_with_recent_posts": list[Tag],
    "tags__test_tag_get_with_recent_posts": Tag,
    "posts__test_post_all": list[Post],
    "posts__test_post_all_exclude_body": list[Post],
    "posts__test_post_search": list[Post],
    "posts__test_post_get": Post,
}


@pytest.mark.parametrize("name", sorted(RECORDED_BLOG))
def test_real_recordings_structure_as_the_generated_hooks_would(name: str) -> None:
    assert (RECORDED / f"{name}.json").exists()
    model: Any = RECORDED_BLOG[name]
    data = recorded(name)["body"]["data"]
    items = data if isinstance(data, list) else [data]
    cls = model.__args__[0] if isinstance(data, list) else model
    assert items, f"{name} holds no {cls.__name__}"
    for item in items:
        assert structure(item, cls) == generated_hook(cls)(item, cls)


@attrs.frozen
class _Ingredient:
    name: str
    grams: int


@attrs.frozen
class _Dish:
    headline: str
    ingredients: list[_Ingredient]


async def test_a_user_field_class_error_names_model_path_and_value() -> None:
    fields = {"headline": "Soup", "ingredients": [{"name": "leek", "grams": "lots"}]}
    schema = {"dish": {"headline": "text", "ingredients": "repeater"}}
    async with Emulator(page_types=schema) as emu, emu.client() as butter:
        await butter.pages.create("dish", "soup", "Soup", fields, verify=True)
        with pytest.raises(ResponseValidationError) as caught:
            await butter.pages.get("dish", "soup", fields_type=_Dish, preview=True)
    message = str(caught.value)
    assert message.startswith("response does not fit Page: ")
    assert "data.fields.ingredients[0].grams" in message
    assert "(got 'lots')" in message


async def test_a_value_echoing_the_token_is_masked_in_the_error() -> None:
    schema = {"dish": {"headline": "text", "servings": "text"}}
    async with Emulator(page_types=schema) as emu, emu.client() as butter:
        fields = {"headline": "Soup", "servings": f"x{emu.read_token}"}
        await butter.pages.create("dish", "leak", "Leak", fields, verify=True)
        with pytest.raises(ResponseValidationError) as caught:
            await butter.pages.get("dish", "leak", fields_type=_Servings, preview=True)
    assert emu.read_token not in str(caught.value)
    assert "REDACTED" in str(caught.value)


@attrs.frozen
class _Servings:
    headline: str
    servings: int


def test_field_classes_made_on_the_fly_do_not_pile_up() -> None:
    from butter_async.models import content

    made = [attrs.make_class(f"Fields{i}", {"headline": attrs.field()}) for i in range(600)]
    targets = [content.with_fields(Page, cls) for cls in made]
    assert len(content._targets) <= content._MAX_TARGETS
    assert targets[-1] == Page[made[-1]]
    assert content.with_fields(Page, None) is Page
    page = structure({"slug": "s", "fields": {"headline": "hi"}}, targets[0], "data")
    assert page.fields == made[0](headline="hi")
