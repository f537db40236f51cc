"""Typed content: classes generated from the content, typed reads and writes through them,
and drift caught by `types check`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from butter_async import ButterClient, CollectionItem, CreatePage, Media, Page
from butter_async.models.converter import converter
from butter_async.models.typed_fields import api_keys
from butter_async.testing import Emulator
from butter_async.typegen.changes import describe_changes
from butter_async.typegen.drift import load_module
from butter_async.typegen.emit import ContentType
from butter_async.typegen.generate import module_text, read_content, types_from_schema
from butter_async.typegen.shapes import ObjectShape

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "recorded"

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


async def generate(butter: ButterClient, path: Path) -> ModuleType:
    types = await read_content(butter, ["dish"], ["chefs"])
    path.write_text(module_text(types, butter.account_fingerprint))
    return load_module(path)


async def test_generated_classes_read_every_field_as_the_raw_json_has_it(tmp_path: Path) -> None:
    async with Emulator(page_types=SCHEMA["page_types"], collections=SCHEMA["collections"]) as emu:
        async with emu.client() as butter:
            await seed(butter)
            module = await generate(butter, tmp_path / "content_types.py")
            text = (tmp_path / "content_types.py").read_text()
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
    async with Emulator(page_types=SCHEMA["page_types"], collections=SCHEMA["collections"]) as emu:
        async with emu.client() as butter:
            await seed(butter)
            first = module_text(await read_content(butter, ["dish"], ["chefs"]), "acct")
            # Names in another order, given twice: the same module, byte for byte.
            second = module_text(
                await read_content(butter, ["dish", "dish"], ["chefs", "chefs"]), "acct"
            )
    assert first == second
    path = tmp_path / "generated.py"
    path.write_text(first)
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
