"""Decoding answers straight into models (msgspec) gives exactly what the converter gives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, get_args, get_origin

import attrs
import orjson
import pytest
from aiohttp import web

from butter_async import (
    Author,
    ButterClient,
    Category,
    InvalidResponseError,
    Page,
    Post,
    PostDetail,
    PostSummary,
    ResponseValidationError,
    RetryPolicy,
    Tag,
)
from butter_async.models.converter import structure
from butter_async.models.decoding import (
    Answer,
    PostAnswer,
    answer_decoder,
    exact_json,
    json_body,
)
from butter_async.models.meta import ListMeta

from .conftest import RECORDED, recorded, serving
from .test_models import FULL_PAGE, full_post


def decoded(model: Any, answer: Any) -> tuple[bool, Any]:
    """(whether the body went straight into models, the `data` a resource returns)."""
    body = orjson.dumps(answer)
    result = answer_decoder(model)(body)
    if isinstance(result, Answer):
        return True, result.data
    return False, structure(result["data"], model)


def converted(model: Any, answer: Any) -> Any:
    return structure(orjson.loads(orjson.dumps(answer))["data"], model)


RECORDED_MODELS = {
    "authors__test_author_all": list[Author],
    "authors__test_author_all_with_posts": list[Author],
    "authors__test_author_get_with_posts": Author,
    "categories__test_category_all_with_recent_posts": list[Category],
    "categories__test_category_get": Category,
    "tags__test_tag_all_with_recent_posts": list[Tag],
    "tags__test_tag_get": Tag,
    "posts__test_post_all": list[Post],
    "posts__test_post_all_exclude_body": list[Post],
    "posts__test_post_search": list[Post],
    "posts__test_post_get": Post,
    "pages__test_page_all": list[Page],
    "pages__test_page_get": Page,
    "pages__test_page_search": list[Page],
}


@pytest.mark.parametrize("name", sorted(RECORDED_MODELS))
def test_real_answers_decode_straight_into_the_converters_models(name: str) -> None:
    assert (RECORDED / f"{name}.json").exists()
    answer = recorded(name)["body"]
    direct, data = decoded(RECORDED_MODELS[name], answer)
    assert direct, f"{name} fell back to the converter: the fast path would never run"
    assert data == converted(RECORDED_MODELS[name], answer)
    if "meta" in answer and isinstance(answer["data"], list):
        meta = answer_decoder(RECORDED_MODELS[name])(orjson.dumps(answer)).meta
        assert meta == structure(answer["meta"], ListMeta)


#: The models inside each model's JSON, by key.
NESTED: dict[Any, dict[str, Any]] = {
    Post: {"author": Author, "tags": Tag, "categories": Category},
    Author: {"recent_posts": Post},
    Tag: {"recent_posts": Post},
    Category: {"recent_posts": Post},
    Page: {},
}


def left_out(model: Any, value: dict[str, Any], found: set[tuple[Any, str]]) -> None:
    """Collect (model, field) for each field of `model` that the JSON `value` lacks."""
    found.update((model, field.name) for field in attrs.fields(model) if field.name not in value)
    for key, inner in NESTED[model].items():
        nested = value.get(key)
        for item in nested if isinstance(nested, list) else [nested] if nested else []:
            left_out(inner, item, found)


def test_fields_real_answers_leave_out_are_set_before_decoding() -> None:
    # msgspec looks up every field after decoding; an unset slot costs it an
    # AttributeError raised and caught, a fifth of a listed post's decode.
    found: set[tuple[Any, str]] = set()
    for name, model in RECORDED_MODELS.items():
        data = recorded(name)["body"]["data"]
        item_model = get_args(model)[0] if get_origin(model) is list else model
        for item in data if isinstance(data, list) else [data]:
            left_out(item_model, item, found)
    assert (Post, "rank") in found and (Author, "recent_posts") in found
    for model, field in sorted(found, key=str):
        blank = model.__new__(model)
        model.__attrs_pre_init__(blank)
        assert hasattr(blank, field), f"{model.__name__}.{field} is left out but not preset"


ODD_VALUES: list[Any] = [
    None,
    "",
    "text",
    0,
    7,
    1.5,
    True,
    [],
    {},
    ["a"],
    {"slug": "x"},
    "2024-05-17T14:13:46Z",
    "2024-05-17T14:13:46.787544+02:00",
    "2024-05-17T14:13:46",  # naive: the converter takes it as UTC
    "2024-05-17",
    2**63 - 1,
    -(2**63),
]
POST_FIELDS = [field.name for field in attrs.fields(Post)]


def outcome(model: Any, answer: Any) -> tuple[str, Any]:
    try:
        return "ok", decoded(model, answer)[1]
    except ResponseValidationError:
        return "error", None


@pytest.mark.parametrize("field", POST_FIELDS)
def test_every_odd_post_value_decodes_as_the_converter_structures_it(field: str) -> None:
    for value in ODD_VALUES:
        answer = {"data": [full_post(**{field: value})], "meta": {"count": 1}}
        try:
            expected: tuple[str, Any] = ("ok", converted(list[Post], answer))
        except ResponseValidationError:
            expected = ("error", None)
        assert outcome(list[Post], answer) == expected, (field, value)


@pytest.mark.parametrize("field", [field.name for field in attrs.fields(Page)])
def test_every_odd_page_value_decodes_as_the_converter_structures_it(field: str) -> None:
    for value in ODD_VALUES:
        answer = {"data": {**FULL_PAGE, field: value}}
        try:
            expected: tuple[str, Any] = ("ok", converted(Page, answer))
        except ResponseValidationError:
            expected = ("error", None)
        assert outcome(Page, answer) == expected, (field, value)


@pytest.mark.parametrize("field", ["author", "tags", "categories"])
def test_odd_nested_values_decode_as_the_converter_structures_them(field: str) -> None:
    for value in ODD_VALUES:
        nested = {"slug": "n", "name": value, "first_name": value, "recent_posts": None}
        answer = {"data": [full_post(**{field: [nested] if field != "author" else nested})]}
        try:
            expected: tuple[str, Any] = ("ok", converted(list[Post], answer))
        except ResponseValidationError:
            expected = ("error", None)
        assert outcome(list[Post], answer) == expected, (field, value)


async def post_detail_through_the_client(answer: Any) -> tuple[str, Any]:
    """What `posts.get` makes of an answer: ("ok", the PostDetail) or ("error", None)."""
    body = orjson.dumps(answer)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async with (
        serving(handler) as url,
        ButterClient("read-0123456789", base_url=url, retry=RetryPolicy(0)) as butter,
    ):
        try:
            return "ok", await butter.posts.get("hello")
        except ResponseValidationError:
            return "error", None


def post_detail_by_the_converter(answer: Any) -> tuple[str, Any]:
    meta = answer.get("meta") or {}
    try:
        if not isinstance(meta, dict):
            raise ResponseValidationError("meta")
        return "ok", PostDetail(
            structure(answer.get("data"), Post),
            structure(meta.get("next_post"), PostSummary | None),
            structure(meta.get("previous_post"), PostSummary | None),
        )
    except ResponseValidationError:
        return "error", None


async def test_a_recorded_post_detail_decodes_straight_and_as_the_converter_would() -> None:
    answer = recorded("posts__test_post_get")["body"]
    assert isinstance(answer_decoder(PostDetail)(orjson.dumps(answer)), PostAnswer)
    expected = post_detail_by_the_converter(answer)
    assert expected[0] == "ok"
    assert await post_detail_through_the_client(answer) == expected


async def test_odd_post_neighbours_read_as_the_converter_structures_them() -> None:
    neighbour = {"slug": "next", "title": "Next", "featured_image": None}
    metas: list[Any] = [None, {}, [], "x", {"next_post": None}]
    for value in ODD_VALUES:
        metas.append({"next_post": value})
        metas.append({"previous_post": {**neighbour, "title": value}})
    for meta in metas:
        answer = {"data": full_post(), "meta": meta}
        expected = post_detail_by_the_converter(answer)
        assert await post_detail_through_the_client(answer) == expected, meta


def test_a_naive_timestamp_takes_the_converters_way_and_is_utc() -> None:
    direct, posts = decoded(list[Post], {"data": [full_post(created="2024-05-17T14:13:46")]})
    assert not direct
    assert posts[0].created == datetime(2024, 5, 17, 14, 13, 46, tzinfo=UTC)


def test_odd_list_meta_decodes_as_the_converter_structures_it() -> None:
    for value in ODD_VALUES:
        answer = {"data": [], "meta": {"count": value, "next_page": value}}
        result = answer_decoder(list[Post])(orjson.dumps(answer))
        try:
            expected: Any = structure(answer["meta"], ListMeta)
        except ResponseValidationError:
            assert not isinstance(result, Answer), value
            continue
        if isinstance(result, Answer):
            assert result.meta == expected, value


@attrs.define
class _Fields:
    headline: str = attrs.field(validator=attrs.validators.min_len(1))


def test_user_field_classes_and_other_models_are_left_to_the_converter() -> None:
    # untyped JSON for the converter, integers kept exact
    assert answer_decoder(Page[_Fields]) is exact_json
    assert answer_decoder(list[Page[_Fields]]) is exact_json
    assert answer_decoder(list[dict[str, Any]]) is exact_json
    assert exact_json(b'{"n": 12345678901234567890123}') == {"n": 12345678901234567890123}


def test_a_body_that_is_not_json_raises_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"malformed|truncated"):
        answer_decoder(list[Post])(b'{"data": [')


async def test_lenient_answers_read_through_the_client_as_before() -> None:
    """A server sending numbers as text and naive timestamps: the client still reads them,
    and a user's field class still has its validator run."""
    odd_post = full_post(title=42, published="2024-05-19T10:00:00")

    async def handler(request: web.Request) -> web.Response:
        if request.path.startswith("/v2/posts"):
            return web.json_response({"data": [odd_post], "meta": {"count": 1}})
        return web.json_response({"data": {**FULL_PAGE, "fields": {"headline": ""}}})

    async with (
        serving(handler) as url,
        ButterClient("read-0123456789", base_url=url, retry=RetryPolicy(0)) as b,
    ):
        posts = await b.posts.list().collect()
        assert posts[0].title == "42"
        assert posts[0].published == datetime(2024, 5, 19, 10, tzinfo=UTC)
        page = await b.pages.get("landing", "home")
        assert page.fields == {"headline": ""} and page.name == "Home"
        with pytest.raises(ResponseValidationError, match="headline"):
            await b.pages.get("landing", "home", fields_type=_Fields)


def test_a_nesting_bomb_is_not_json_to_the_decoder() -> None:
    bomb = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert json_body(bomb) is bomb  # it looks like JSON until decoded
    with pytest.raises(ValueError):
        answer_decoder(list[Post])(bomb)


@pytest.mark.parametrize("body", [b"", b"  ", b"<html>{}</html>", b"Bad gateway", b"\xff"])
def test_a_body_that_cannot_be_json_is_refused_on_arrival(body: bytes) -> None:
    with pytest.raises(ValueError):
        json_body(body)


def in_turn(answers: list[bytes]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler giving each answer in turn (the last one again and again)."""

    async def handler(request: web.Request) -> web.Response:
        body = answers.pop(0) if len(answers) > 1 else answers[0]
        return web.Response(body=body, content_type="application/json")

    return handler


async def test_an_html_page_in_a_walk_is_retried_on_arrival() -> None:
    good = orjson.dumps({"data": [full_post()], "meta": {"count": 1}})
    retry = RetryPolicy(max_retries=2, backoff_base=0)
    async with (
        serving(in_turn([b"<html>Bad gateway</html>", good])) as url,
        ButterClient("read-0123456789", base_url=url, retry=retry) as butter,
    ):
        posts = await butter.posts.list().collect()
        assert [post.slug for post in posts] == ["hello"]
        assert butter.stats.retries == 1


async def test_an_object_that_is_not_json_fails_the_walk_where_it_is_read() -> None:
    token = "read-0123456789"
    broken = b'{"data": [{"slug": "' + token.encode() + b'", }], "meta": {}}'
    async with (
        serving(in_turn([broken])) as url,
        ButterClient(token, base_url=url, retry=RetryPolicy(0)) as butter,
    ):
        with pytest.raises(InvalidResponseError, match="not valid JSON") as caught:
            await butter.posts.list().collect()
    assert caught.value.status == 200 and '"slug"' in caught.value.body
    assert token not in str(caught.value) + caught.value.body


@pytest.mark.parametrize("status", [200, 204])
async def test_an_empty_answer_in_a_walk_is_a_validation_error(status: int) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status)

    async with (
        serving(handler) as url,
        ButterClient("read-0123456789", base_url=url, retry=RetryPolicy(0)) as butter,
    ):
        with pytest.raises(ResponseValidationError, match="expected a JSON object"):
            await butter.posts.list().collect()
