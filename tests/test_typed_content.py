"""Typed content: classes generated from the content, typed reads and writes through them,
and drift caught by `types check`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from butter_async import ButterClient, CollectionItem, CreatePage, Media, Page
from butter_async.models.converter import converter
from butter_async.models.typed_fields import api_keys, write_value
from butter_async.testing import Emulator
from butter_async.typegen.changes import describe_changes
from butter_async.typegen.drift import load_module, walk
from butter_async.typegen.emit import ContentType
from butter_async.typegen.generate import module_text, read_content, types_from_schema
from butter_async.typegen.shapes import ObjectShape

FIXTURES = Path(__file__).parent / "fixtures" / "recorded"

SCHEMA: dict[str, dict[str, Any]] = {
    "page_types": {
        "dish": {
            "title": "text",
            "servings": "number",
            "price": "number",
            "vegan": "text",
            "cooked": "text",
            "hero": "media",
            "chef": "reference",
            "pairings": "reference",
            "side": "reference",
            "steps": "repeater",
            "seo": "component",
            "sections": "component_picker",
            "notes": "text",
        }
    },
    "collections": {"chefs": {"name": "text", "photo": "media"}},
}


async def seed(butter: ButterClient) -> list[int]:
    """Three chefs and three dishes using every field kind; some fields empty or null."""
    for name in ("Ana", "Bo", "Cy"):
        photo = f"https://cdn.buttercms.com/{name.lower()}.jpg"
        await butter.collections.create_item(
            "chefs", {"name": name, "photo": photo}, status="published"
        )
    chefs = [item.id async for item in butter.collections.list("chefs")]
    dishes = [
        {
            "title": "Soup",
            "servings": 2,
            "price": 9.5,
            "vegan": True,
            "cooked": "2024-05-17T14:14:41Z",
            "hero": "https://cdn.buttercms.com/soup.jpg",
            "chef": chefs[0],
            "pairings": [chefs[1], chefs[2]],
            "side": "bread",
            "steps": [{"text": "Boil", "minutes": 5}, {"text": "Serve", "minutes": 1}],
            "seo": {"title": "Soup", "description": "Warm"},
            "sections": [
                {"type": "hero", "fields": {"headline": "Hot"}},
                {"type": "quote", "fields": {"text": "Yum", "by": "Bo"}},
            ],
            "notes": "family recipe",
        },
        {
            "title": "Bread",
            "servings": 8,
            "price": 4,
            "vegan": False,
            "cooked": "2024-06-01T08:00:00+02:00",
            "hero": "https://cdn.buttercms.com/bread.jpg",
            "chef": chefs[1],
            "pairings": [],
            "side": None,
            "steps": [],
            "seo": {"title": "Bread", "description": ""},
            "sections": [{"type": "hero", "fields": {"headline": "Crust"}}],
            "notes": None,
        },
        {
            "title": "Salad",
            "servings": 1,
            "price": 6.25,
            "vegan": True,
            "cooked": "2024-07-04T12:30:00Z",
            "hero": "https://cdn.buttercms.com/salad.jpg",
            "chef": chefs[2],
            "pairings": [chefs[0]],
            "side": "soup",
            "steps": [{"text": "Toss", "minutes": 2}],
            "seo": {"title": "Salad", "description": "Green"},
            "sections": [],
            "notes": None,
        },
    ]
    for fields in dishes:
        slug = str(fields["title"]).lower()
        await butter.pages.create("dish", slug, str(fields["title"]), fields, status="published")
    return chefs


def same(typed: Any, raw: Any, path: str = "fields") -> None:
    """Every value read through the generated classes equals the raw JSON's."""
    if isinstance(typed, Page):
        assert typed.slug == raw["slug"], path
        same(typed.fields, raw["fields"], f"{path}.fields")
    elif isinstance(typed, CollectionItem):
        assert typed.id == raw["meta"]["id"], path
        same(typed.fields, {k: v for k, v in raw.items() if k != "meta"}, path)
    elif isinstance(typed, Media):
        assert (typed.url, typed.alt) == (raw["url"], raw["alt"]), path
    elif attrs.has(type(typed)):
        keys = api_keys(type(typed))
        names = {keys.get(a.name, a.name) for a in attrs.fields(type(typed))}
        assert names >= set(raw), f"{path}: the class lacks {set(raw) - names}"
        for attribute in attrs.fields(type(typed)):
            key = keys.get(attribute.name, attribute.name)
            same(getattr(typed, attribute.name), raw.get(key), f"{path}.{key}")
    elif isinstance(typed, datetime):
        assert typed == datetime.fromisoformat(raw), path
    elif isinstance(typed, list):
        assert len(typed) == len(raw), path
        for index, (one, other) in enumerate(zip(typed, raw, strict=True)):
            same(one, other, f"{path}[{index}]")
    elif isinstance(typed, float):
        assert typed == raw and isinstance(raw, int | float), f"{path}: {typed!r} != {raw!r}"
    else:
        assert typed == raw and type(typed) is type(raw), f"{path}: {typed!r} != {raw!r}"


@contextlib.asynccontextmanager
async def dishes() -> AsyncIterator[tuple[Emulator, ButterClient, list[int]]]:
    """An emulator with the every-kind schema, seeded, and a client of it."""
    emulator = Emulator(page_types=SCHEMA["page_types"], collections=SCHEMA["collections"])
    async with emulator as emu, emu.client() as butter:
        yield emu, butter, await seed(butter)


def load(path: Path, text: str) -> ModuleType:
    path.write_text(text)
    return load_module(path)


async def generate(butter: ButterClient, path: Path) -> ModuleType:
    types = await read_content(butter, ["dish"], ["chefs"])
    return load(path, module_text(types, butter.account_fingerprint))


async def test_generated_classes_read_every_field_as_the_raw_json_has_it(tmp_path: Path) -> None:
    async with dishes() as (emu, butter, _):
        module = await generate(butter, tmp_path / "content_types.py")
        text = Path(module.__file__ or "").read_text()  # noqa: ASYNC240
        content = module.Content(butter)
        pages = [page async for page in content.dish.list()]
        assert sorted(page.slug for page in pages) == ["bread", "salad", "soup"]
        for page in pages:
            raw = await butter.pages.get("dish", page.slug)
            same(page.fields, raw.fields)
        soup = await content.dish.get("soup")
        # The kinds the field basics docs list, as inferred from the values:
        assert type(soup.fields.servings) is int and type(soup.fields.price) is float
        assert soup.fields.vegan is True and isinstance(soup.fields.cooked, datetime)
        assert soup.fields.hero == "https://cdn.buttercms.com/soup.jpg"
        assert soup.fields.chef.fields.name == "Ana"
        assert [chef.fields.name for chef in soup.fields.pairings] == ["Bo", "Cy"]
        assert soup.fields.side is not None and soup.fields.side.slug == "bread"
        assert [type(s).__name__ for s in soup.fields.sections] == [
            "DishSectionsHero",
            "DishSectionsQuote",
        ]
        assert soup.fields.sections[1].fields.by == "Bo"
        bread = await content.dish.get("bread")
        assert bread.fields.notes is None and bread.fields.side is None
        # With alt_media_text the same classes read media as Media objects.
        alt = await content.dish.get("soup", alt_media_text=True)
        assert isinstance(alt.fields.hero, Media)
        chefs = [item async for item in content.chefs.list()]
        assert [chef.fields.name for chef in chefs] == ["Ana", "Bo", "Cy"]
        assert emu.read_token not in text and butter.account_fingerprint in text
    # Optional where some content had no value; the docstring says how often each had one.
    assert "notes: str | None = None" in text
    # A dish referenced from a dish is read two levels deep: its own references below that
    # show as stored, so it gets a class of what was read, not `Dish`.
    assert "side: Page[DishSidePage] | None = None" in text
    assert "servings: int\n" in text and "price: float\n" in text and "vegan: bool\n" in text
    assert "cooked: datetime\n" in text and "hero: str | Media\n" in text
    assert (
        "chef: CollectionItem[Chefs]\n" in text and "pairings: list[CollectionItem[Chefs]]" in text
    )
    assert "sections: list[DishSectionsHero | DishSectionsQuote]" in text
    assert "notes 1," in text  # had a value in 1 of 3 pages


async def test_the_same_content_gives_the_same_bytes_and_clean_code(tmp_path: Path) -> None:
    async with dishes() as (_, butter, _):
        first = module_text(await read_content(butter, ["dish"], ["chefs"]), "acct")
        # Names in another order, given twice: the same module, byte for byte.
        second = module_text(
            await read_content(butter, ["dish", "dish"], ["chefs", "chefs"]), "acct"
        )
    assert first == second
    await asyncio.to_thread(lint_and_type_check, tmp_path, first)


def lint_and_type_check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "generated.py"
    path.write_text(text)
    tools = Path(sys.executable).parent
    lint = subprocess.run(
        [tools / "ruff", "check", "--isolated", "--select", "E,F,W,I,UP,B", str(path)],
        cwd=tmp_path,  # as in a user's project, where butter_async is a third-party package
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    typed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy"),
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert typed.returncode == 0, typed.stdout


def recorded_content() -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Every page (by page type, `*` for single pages) and item (by collection) in the
    recorded answers, deduplicated."""
    pages: dict[str, dict[str, dict[str, Any]]] = {}
    items: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        for answer in json.loads(path.read_text()):
            body = answer.get("body")
            data = body.get("data") if isinstance(body, dict) else None
            if path.name.startswith("pages__") and data:
                for page in data if isinstance(data, list) else [data]:
                    kind = page.get("page_type") or "*"
                    pages.setdefault(kind, {})[page["slug"]] = page
            if path.name.startswith("content_fields__") and isinstance(data, dict):
                for key, entries in data.items():
                    for entry in entries:
                        items.setdefault(key, {})[entry["meta"]["id"]] = entry
    return (
        {kind: list(found.values()) for kind, found in pages.items()},
        {key: list(found.values()) for key, found in items.items()},
    )


def test_classes_from_the_recorded_answers_read_them_field_for_field(tmp_path: Path) -> None:
    pages, items = recorded_content()
    assert pages and items
    types = []
    for kind, found in pages.items():
        if kind == "*":
            for page in found:
                shape = ObjectShape()
                shape.add(page["fields"])
                types.append(ContentType("single", page["slug"], shape))
            continue
        shape = ObjectShape()
        for page in found:
            shape.add(page["fields"])
        types.append(ContentType("page", kind, shape))
    for key, entries in items.items():
        shape = ObjectShape()
        for entry in entries:
            shape.add({k: v for k, v in entry.items() if k != "meta"})
        types.append(ContentType("collection", key, shape))
    module = load(tmp_path / "recorded_types.py", module_text(types, "recorded"))
    classes = {(kind, name): getattr(module, cls) for (kind, name), cls in _top(types).items()}
    for kind, found in pages.items():
        for page in found:
            cls = classes["single", page["slug"]] if kind == "*" else classes["page", kind]
            same(converter.structure(page["fields"], cls), page["fields"])
    for key, entries in items.items():
        for entry in entries:
            typed = converter.structure(entry, CollectionItem[classes["collection", key]])
            same(typed, entry)


def _top(types: list[ContentType]) -> dict[tuple[str, str], str]:
    from butter_async.typegen.emit import Emitter

    return Emitter(types).top


def test_keys_that_are_not_python_names_keep_their_api_key(tmp_path: Path) -> None:
    shape = ObjectShape()
    raw = {"2col": "a", "class": "b", "hero-image": "https://cdn.buttercms.com/x", "ok": 1}
    shape.add(raw)
    path = tmp_path / "odd.py"
    path.write_text(module_text([ContentType("page", "odd page", shape)], "acct"))
    text = path.read_text()
    assert 'f_2col: str = attrs.field(metadata={"butter": "2col"})' in text
    assert 'class_: str = attrs.field(metadata={"butter": "class"})' in text
    assert 'hero_image: str | Media = attrs.field(metadata={"butter": "hero-image"})' in text
    module = load_module(path)
    typed = converter.structure(raw, module.OddPage)
    assert (typed.f_2col, typed.class_, typed.ok) == ("a", "b", 1)
    assert write_value(typed) == raw


def test_an_emulator_schema_gives_classes_of_its_declared_kinds(tmp_path: Path) -> None:
    path = tmp_path / "declared.py"
    path.write_text(module_text(types_from_schema(SCHEMA), None))
    text = path.read_text()
    assert "an emulator schema" in text
    assert "servings: float\n" in text and "hero: str | Media\n" in text
    assert "steps: list[dict[str, Any]]\n" in text and "chef: object\n" in text
    module = load_module(path)
    assert attrs.fields_dict(module.Dish).keys() == SCHEMA["page_types"]["dish"].keys()


def test_generating_again_says_what_changed() -> None:
    before = ObjectShape()
    before.add({"servings": 2, "title": "a", "gone": "x"})
    after = ObjectShape()
    after.add({"servings": 2.5, "title": "a", "calories": 100})
    after.add({"servings": 3, "title": None, "calories": 90})
    old = module_text([ContentType("page", "dish", before)], "a")
    new = module_text([ContentType("page", "dish", after)], "a")
    assert describe_changes(old, new) == [
        "Dish.calories: field added (int)",
        "Dish.gone: field removed (was str)",
        "Dish.servings: widened: int -> float",
        "Dish.title: widened: str -> str | None",
    ]
    assert describe_changes(new, new) == []


def test_walking_raw_content_names_each_kind_of_drift(tmp_path: Path) -> None:
    shape = ObjectShape()
    shape.add(
        {
            "servings": 2,
            "seo": {"title": "t"},
            "sections": [{"type": "hero", "fields": {"headline": "h"}}],
        }
    )
    path = tmp_path / "walked.py"
    path.write_text(module_text([ContentType("page", "dish", shape)], "a"))
    dish = load_module(path).Dish
    raw = {
        "servings": "two",
        "seo": {"title": None, "extra": 1},
        "sections": [{"type": "quote", "fields": {}}],
        "calories": 5,
    }
    assert list(walk(raw, dish, "fields")) == [
        "fields.sections[0].type: expected one of 'hero', got 'quote'",
        "fields.sections[0].fields.headline: required field missing",
        "fields.seo.title: null where str is required",
        "fields.seo.extra: a field DishSeo lacks (got 1)",
        "fields.servings: expected int, got 'two'",
        "fields.calories: a field Dish lacks (got 5)",
    ]
    assert list(walk({"seo": {"title": "t"}, "sections": []}, dish, "fields")) == [
        "fields.servings: required field missing"
    ]


async def test_a_user_module_type_checks_and_a_misused_field_does_not(tmp_path: Path) -> None:
    async with dishes() as (_, butter, _):
        await generate(butter, tmp_path / "content_types.py")
    await asyncio.to_thread(type_check_user_code, tmp_path)


def type_check_user_code(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from butter_async import ButterClient\n"
        "from content_types import Content\n\n\n"
        "async def portions(butter: ButterClient) -> int:\n"
        "    content = Content(butter)\n"
        '    page = await content.dish.get("soup", locale=None, levels=2)\n'
        "    names = [item.fields.name async for item in content.chefs.list(page_size=10)]\n"
        "    chef: str = page.fields.chef.fields.name\n"
        "    total: int = page.fields.servings + len(names) + len(chef)\n"
        "    return total\n"
    )
    (tmp_path / "misuse.py").write_text(
        "from butter_async import ButterClient\n"
        "from content_types import Content\n\n\n"
        "async def shout(butter: ButterClient) -> str:\n"
        '    page = await Content(butter).dish.get("soup")\n'
        "    return page.fields.servings.upper()\n"
    )

    def mypy(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", ".mypy", name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )

    checked = mypy("app.py")
    assert checked.returncode == 0, checked.stdout
    misused = mypy("misuse.py")
    assert misused.returncode == 1
    assert '"int" has no attribute "upper"' in misused.stdout


async def test_typed_creates_and_updates_round_trip_bulk_included(tmp_path: Path) -> None:
    async with dishes() as (_, butter, chefs):
        module = await generate(butter, tmp_path / "content_types.py")
        content = module.Content(butter)
        soup = (await content.dish.get("soup")).fields
        stew = attrs.evolve(soup, title="Stew", servings=5)
        await content.dish.create("stew", "Stew", stew, status="published")
        read = await content.dish.get("stew")
        raw = await butter.pages.get("dish", "stew")
        same(read.fields, raw.fields)
        assert read.fields.servings == 5 and read.fields.chef.id == chefs[0]
        assert [chef.id for chef in read.fields.pairings] == chefs[1:]
        assert read.fields.side is not None and read.fields.side.slug == "bread"
        assert read.fields.sections == soup.sections and read.fields.cooked == soup.cooked
        await content.dish.update("stew", attrs.evolve(read.fields, servings=6))
        assert (await content.dish.get("stew")).fields.servings == 6
        # Bulk takes the generated classes as fields too.
        report = await butter.bulk_run(
            CreatePage("dish", f"copy-{i}", f"Copy {i}", attrs.evolve(stew, servings=i))
            for i in range(1, 4)
        )
        assert report.ok and report.counts["created"] == 3
        copies = [await content.dish.get(f"copy-{i}", preview=True) for i in range(1, 4)]
        assert [copy.fields.servings for copy in copies] == [1, 2, 3]
        chef = module.Chefs(name="Di", photo="https://cdn.buttercms.com/di.jpg")
        await content.chefs.create(chef, status="published")
        names = [item.fields.name async for item in content.chefs.list()]
        assert names == ["Ana", "Bo", "Cy", "Di"]


def test_types_check_fails_on_drift_and_passes_after_generating_again(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main
    from butter_async.testing import emulator_in_thread

    async def seeded(url: str, read: str, write: str) -> None:
        async with ButterClient(read, write, base_url=url) as butter:
            await seed(butter)

    async def edit(url: str, read: str, write: str) -> None:
        async with ButterClient(read, write, base_url=url) as butter:
            await butter.pages.update("dish", "soup", fields={"servings": "two"})

    module = tmp_path / "content_types.py"
    runner = CliRunner()
    schema = SCHEMA["page_types"]["dish"]
    with emulator_in_thread(page_types={"dish": schema}, collections=SCHEMA["collections"]) as emu:
        env = {
            "BUTTER_READ_TOKEN": emu.read_token,
            "BUTTER_WRITE_TOKEN": emu.write_token,
            "BUTTER_BASE_URL": emu.url,
        }
        asyncio.run(seeded(emu.url, emu.read_token, emu.write_token))
        made = ["types", "generate", "--page-type", "dish", "--collection", "chefs"]
        made += ["--out", str(module)]
        first = runner.invoke(main, made, env=env)
        assert first.exit_code == 0, first.output
        fits = runner.invoke(main, ["types", "check", str(module)], env=env)
        assert fits.exit_code == 0 and "every page and item fits" in fits.output
        # An editor's change of a field's kind: servings becomes text.
        emu.define_page_type("dish", {**schema, "servings": "text"})
        asyncio.run(edit(emu.url, emu.read_token, emu.write_token))
        drifted = runner.invoke(main, ["types", "check", str(module)], env=env)
        assert drifted.exit_code == 1
        assert "dish/soup: fields.servings: expected int, got 'two'" in drifted.output
        again = runner.invoke(main, made, env=env)
        assert again.exit_code == 0
        assert "Dish.servings: changed: int -> str" in again.output
        fixed = runner.invoke(main, ["types", "check", str(module)], env=env)
        assert fixed.exit_code == 0, fixed.output
        assert emu.read_token not in module.read_text()


def test_types_generate_needs_names_and_can_work_from_a_schema_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main

    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA))
    out = tmp_path / "declared.py"
    runner = CliRunner()
    unnamed = runner.invoke(main, ["types", "generate", "--out", str(out)], env={})
    assert unnamed.exit_code == 2 and "--page-type" in unnamed.output
    declared = runner.invoke(
        main, ["types", "generate", "--all", "--schema", str(schema_file), "--out", str(out)]
    )
    assert declared.exit_code == 0, declared.output
    module = load_module(out)
    assert {"Dish", "Chefs"} <= set(vars(module))
    broken = runner.invoke(main, ["types", "check", str(schema_file)], env={})
    assert broken.exit_code == 2


async def test_single_pages_get_a_class_each_and_typed_reads_go_through_the_cache(
    tmp_path: Path,
) -> None:
    from butter_async import MemoryCache
    from butter_async.testing import SeedSpec

    async with Emulator(seed=SeedSpec(pages=3, single_pages=2, posts=0)) as emu:
        async with emu.client() as butter:
            types = await read_content(butter, ["*", "recipe"], [])
        text = module_text(types, "acct")
        module = await asyncio.to_thread(load, tmp_path / "site_types.py", text)
        async with emu.client(cache=MemoryCache()) as butter:
            content = module.Content(butter)
            single = await content.single_page_0000.get()
            assert single.slug == "single-page-0000"
            assert attrs.has(type(single.fields))
            first = await content.recipe.get("recipe-000000")
            again = await content.recipe.get("recipe-000000")  # a cache hit
            assert butter.cache.stats.hits >= 1
            assert again.fields == first.fields and type(again.fields) is module.Recipe
    assert "self.single_page_0000 = SinglePage(" in text and "PageType(" in text


def test_a_page_type_and_a_collection_of_one_name_stay_apart(tmp_path: Path) -> None:
    page, item, empty = ObjectShape(), ObjectShape(), ObjectShape()
    page.add({"title": "a"})
    item.add({"sku": 1})
    types = [
        ContentType("page", "recipe", page),
        ContentType("collection", "recipe", item),
        ContentType("page", "class", empty),  # no pages yet: a class with no fields
        ContentType("collection", "none", empty),
    ]
    module = load(tmp_path / "apart.py", module_text(types, "a"))
    fields = {cls: set(attrs.fields_dict(getattr(module, cls))) for cls in ("Recipe", "Recipe2")}
    assert fields == {"Recipe": {"sku"}, "Recipe2": {"title"}}
    content = module.Content(None)
    assert content.recipe.key == "recipe" and content.recipe_.page_type == "recipe"
    assert content.class_.page_type == "class" and attrs.fields(module.Class) == ()
    assert content.none.fields_type is module.None_


def test_a_schema_file_exported_from_the_content_gives_the_same_classes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main
    from butter_async.testing import emulator_in_thread
    from butter_async.testing.command import read_schema

    async def seeded(url: str, read: str, write: str) -> None:
        async with ButterClient(read, write, base_url=url) as butter:
            await seed(butter)

    runner = CliRunner()
    names = ["--page-type", "dish", "--collection", "chefs"]
    schema_file, from_account = tmp_path / "schema.json", tmp_path / "from_account.py"
    with emulator_in_thread(
        page_types=SCHEMA["page_types"], collections=SCHEMA["collections"]
    ) as emu:
        env = {
            "BUTTER_READ_TOKEN": emu.read_token,
            "BUTTER_WRITE_TOKEN": emu.write_token,
            "BUTTER_BASE_URL": emu.url,
        }
        asyncio.run(seeded(emu.url, emu.read_token, emu.write_token))
        exported = runner.invoke(
            main, ["schema", "export", *names, "-o", str(schema_file)], env=env
        )
        assert exported.exit_code == 0, exported.output
        made = runner.invoke(
            main, ["types", "generate", *names, "--out", str(from_account)], env=env
        )
        assert made.exit_code == 0, made.output
    from_schema = tmp_path / "from_schema.py"
    offline = runner.invoke(
        main,
        ["types", "generate", *names, "--schema", str(schema_file), "--out", str(from_schema)],
        env={"BUTTER_READ_TOKEN": ""},
    )
    assert offline.exit_code == 0, offline.output

    def body(path: Path) -> str:
        return path.read_text().split('"""', 2)[2]  # after the header, which names the source

    assert body(from_schema) == body(from_account)
    # The emulator's command line takes the same file, and declares the kinds it names.
    declared = read_schema(schema_file)
    assert declared["page_types"]["dish"]["servings"] == "number"
    assert "types" not in declared


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"page_types": {"dish": {"a": "te', "not JSON"),
        ('{"page_types": [1]}', "page_types must be an object"),
        ('{"page_types": {"dish": 5}}', "page_types.dish"),
        ('{"page_types": {"dish": {"a": "nonsense"}}}', "kind must be one of"),
        ('{"types": [1]}', "types must be an object"),
        (
            '{"page_types": {"dish": {"a": "text"}}, '
            '"types": {"page_types": {"dish": {"count": "x"}}}}',
            "types.page_types.dish: not a shape written by schema export",
        ),
    ],
)
def test_a_damaged_schema_file_is_one_clear_error(tmp_path: Path, content: str, said: str) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main

    schema_file = tmp_path / "schema.json"
    schema_file.write_text(content)
    out = tmp_path / "out.py"
    result = CliRunner().invoke(
        main, ["types", "generate", "--all", "--schema", str(schema_file), "--out", str(out)]
    )
    assert result.exit_code == 2 and said in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_generate_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from butter_async.cli import main

    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA))
    out = tmp_path / "models.py"
    out.write_text("MY_OWN_CODE = 1\n")
    words = ["types", "generate", "--all", "--schema", str(schema_file), "--out", str(out)]
    refused = CliRunner().invoke(main, words)
    assert refused.exit_code == 2 and "was not written by" in refused.output
    assert out.read_text() == "MY_OWN_CODE = 1\n"
    # A generated module someone broke is ours: replaced, and said so.
    out.unlink()
    assert CliRunner().invoke(main, words).exit_code == 0
    out.write_text(out.read_text() + "\nclass Broken(:\n")
    again = CliRunner().invoke(main, words)
    assert again.exit_code == 0 and "did not parse" in again.output
    assert "class Broken(" not in out.read_text()
