"""Careless input is refused line by line, and one bad item never sinks a read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import Result

from butter_async import ResponseValidationError
from butter_async.cli.imports import EXIT_SKIPPED_INVALID
from butter_async.jobs.jsonl import written_fields
from butter_async.testing import Emulator, SeedSpec, emulator_in_thread

from .test_cli import cli, lines


@pytest.fixture
def target() -> Iterator[Emulator]:
    with emulator_in_thread(seed=SeedSpec(pages=1)) as emu:
        yield emu


def import_lines(
    emu: Emulator, tmp_path: Path, kind: str, *rows: object, extra: tuple[str, ...] = ()
) -> Result:
    source = tmp_path / f"{kind}.jsonl"
    source.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    args = ["import", kind, str(source), *extra]
    if kind == "pages":
        args += ["--page-type", "recipe"]
    return cli(emu, *args)


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ({"slug": "t", "title": "T", "tags": "notalist"}, "tags", "must be a list of names"),
        ({"slug": 123, "title": "T"}, "slug", "must be a non-empty string, got 123"),
        ({"slug": "t", "title": ["x"]}, "title", "must be a non-empty string"),
        ({"slug": "t", "title": "T", "status": "live"}, "status", "'draft' or 'published'"),
        ({"slug": "t", "title": "T", "published": "yesterday"}, "published", "ISO 8601"),
        ({"slug": "t", "title": "T", "published": "2024-01-01T00:00:00"}, "published", "timezone"),
        ({"slug": "a b/c", "title": "T"}, "slug", "letters, digits"),
        ({"slug": "t", "title": "T", "author": "me"}, "author", "'slug' or 'email'"),
        ({"slug": "t", "title": "T", "body": 5}, "body", "must be a string"),
    ],
)
def test_careless_post_lines_are_refused_with_line_and_field(
    target: Emulator, tmp_path: Path, row: dict[str, object], field: str, problem: str
) -> None:
    result = import_lines(target, tmp_path, "posts", {"slug": "fine", "title": "Fine"}, row)
    assert result.exit_code == 2, result.output
    assert f"posts.jsonl:2: {field}: " in result.output and problem in result.output
    assert [r for r in target.requests if r.method != "GET"] == []


def test_skip_invalid_imports_the_rest(target: Emulator, tmp_path: Path) -> None:
    rows = [
        {"slug": "one", "title": "One"},
        {"slug": "two", "title": "Two", "tags": "notalist"},
        {"slug": "three", "title": "Three"},
    ]
    result = import_lines(target, tmp_path, "posts", *rows, extra=("--skip-invalid",))
    assert result.exit_code == EXIT_SKIPPED_INVALID == 3, result.output  # a script can tell
    assert {"one", "three"} <= set(target.store.posts) and "two" not in target.store.posts
    rejected = lines(tmp_path / "posts.jsonl.invalid.jsonl")
    assert [(r["line"], r["item"]["slug"]) for r in rejected] == [(2, "two")]  # type: ignore[index]
    assert "tags" in str(rejected[0]["error"])


def test_dry_run_with_a_token_checks_the_target(target: Emulator, tmp_path: Path) -> None:
    page = {"slug": "p", "title": "P", "page_type": "nope", "fields": {}}
    result = import_lines(target, tmp_path, "pages", page, extra=("--dry-run",))
    assert result.exit_code == 2 and "no page type 'nope'" in result.output
    post = {"slug": "p", "title": "P", "author": {"slug": "nobody"}}
    result = import_lines(target, tmp_path, "posts", post, extra=("--dry-run",))
    assert result.exit_code == 2 and "no author 'nobody'" in result.output
    result = import_lines(
        target, tmp_path, "posts", {"slug": "p", "title": "P"}, extra=("--dry-run",)
    )
    assert result.exit_code == 0 and "the target has what they need" in result.output
    assert [r for r in target.requests if r.method != "GET"] == []


async def test_one_bad_item_is_named_with_its_field_path() -> None:
    async with Emulator(seed=SeedSpec(posts=30)) as emu, emu.client() as butter:
        emu.store.get_post("post-000005").data["published"] = "yesterday"
        with pytest.raises(ResponseValidationError) as caught:
            await butter.posts.list().collect()
        message = str(caught.value)
        assert "slug 'post-000005'" in message
        assert (
            "data[" in message and "].published: Invalid isoformat string: 'yesterday'" in message
        )
        skipped: list[object] = []
        good = await butter.posts.list(on_invalid_item=skipped.append).collect()
    assert len(good) == 30 and len(skipped) == 1  # 30 generated + the recorded example


def test_export_writes_every_good_item_before_failing(tmp_path: Path) -> None:
    with emulator_in_thread(seed=SeedSpec(posts=30)) as emu:
        emu.store.get_post("post-000005").data["published"] = "yesterday"
        emu.store.changed()
        output = tmp_path / "posts.jsonl"
        failed = cli(emu, "export", "posts", "-o", str(output))
        assert failed.exit_code == 1 and "post-000005" in failed.output
        assert len(lines(output)) == 30
        skipped = cli(emu, "export", "posts", "-o", str(output), "--skip-invalid")
        assert skipped.exit_code == 0, skipped.output
        assert len(lines(output)) == 30
        invalid = lines(tmp_path / "posts.jsonl.invalid.jsonl")
        assert invalid[-1]["item"]["slug"] == "post-000005"  # type: ignore[index]


def comparable(path: Path, *dropped: str) -> list[dict[str, object]]:
    """Exported lines without what the server stamps (ids, times)."""
    return sorted(
        ({k: v for k, v in row.items() if k not in dropped} for row in lines(path)),
        key=lambda row: orjson.dumps(row, option=orjson.OPT_SORT_KEYS),
    )


ROUND_TRIPS = (
    ("pages", "recipe", ()),
    ("collection", "products", ("--collection", "products", "--match-on", "sku")),
)


def round_trip(
    source: Emulator, target: Emulator, tmp_path: Path, *options: str
) -> dict[str, tuple[Path, Path]]:
    """Export pages and items from `source`, import them into `target`, export again.

    Asserts the second export equals the first but for what the server stamps; returns
    each kind's (first, second) export.
    """
    target.define_page_type("recipe", source.store.page_types["recipe"].fields)
    target.define_collection("products", source.store.collections["products"].fields)
    exports = {}
    for kind, name, extra in ROUND_TRIPS:
        first, second = tmp_path / f"{kind}-1.jsonl", tmp_path / f"{kind}-2.jsonl"
        export = ["export", kind, name, "--preview", *options]
        assert cli(source, *export, "-o", str(first)).exit_code == 0
        result = cli(target, "import", kind, str(first), *extra)
        assert result.exit_code == 0, result.output
        assert cli(target, *export, "-o", str(second)).exit_code == 0
        dropped = ("published", "updated") if kind == "pages" else ("id",)
        assert comparable(second, *dropped) == comparable(first, *dropped)
        exports[kind] = (first, second)
    return exports


def test_pages_and_items_round_trip_with_status(tmp_path: Path) -> None:
    seed = SeedSpec(pages=12, drafts_every=3, collection_items=9)
    with emulator_in_thread(seed=seed) as source, emulator_in_thread() as target:
        for record in list(source.store.items["products"].values())[::4]:
            record.status = "draft"
        source.store.changed()
        exports = round_trip(source, target, tmp_path)
        for _, second in exports.values():
            assert {row["status"] for row in lines(second)} == {"draft", "published"}
        first, _ = exports["collection"]
        extra = ROUND_TRIPS[1][2]
        again = cli(target, "import", "collection", str(first), *extra)
        assert again.exit_code == 0 and "skipped 9" in again.output  # the journal knows
        fresh = tmp_path / "another.journal"
        again = cli(target, "import", "collection", str(first), *extra, "--journal", str(fresh))
        assert again.exit_code == 0 and "already_existed 9" in again.output  # --match-on
        assert len(target.store.items["products"]) == 9
        careless = cli(
            target, "import", "collection", str(first), "--collection", "products",
            "--journal", str(tmp_path / "careless.journal"),
        )  # fmt: skip
        assert careless.exit_code == 2 and "--match-on" in careless.output
        assert len(target.store.items["products"]) == 9


def test_every_locale_round_trips(tmp_path: Path) -> None:
    seed = SeedSpec(pages=6, drafts_every=3, collection_items=4)
    locales = ("en", "fr")
    with (
        emulator_in_thread(seed=seed, locales=locales) as source,
        emulator_in_thread(locales=locales) as target,
    ):
        source.store.page("recipe-000001").fields["fr"]["headline"] = "Recette 1"
        first_item = next(iter(source.store.items["products"].values()))
        first_item.fields["fr"] = {**first_item.fields["fr"], "name": "Produit 0"}
        source.store.changed()
        exports = round_trip(source, target, tmp_path, "--locales", "en,fr")
        for first, _ in exports.values():
            assert set(lines(first)[0]["fields"]) == {"en", "fr"}  # type: ignore[arg-type]
        assert target.store.page("recipe-000001").fields["fr"]["headline"] == "Recette 1"
        names = {i.fields["fr"]["name"] for i in target.store.items["products"].values()}
        assert "Produit 0" in names


def test_pickers_are_imported_in_the_write_apis_shape() -> None:
    read = [{"type": "hero", "fields": {"headline": "Hi"}}]
    written = [{"hero": {"headline": "Hi"}}]  # pages-write: [{component: {fields}}]
    assert written_fields({"sections": read, "seo": {"title": "t"}}) == {
        "sections": written,
        "seo": {"title": "t"},
    }
    assert written_fields({"en": {"sections": read}, "fr": {"sections": []}}) == {
        "en": {"sections": written},
        "fr": {"sections": []},
    }


def test_the_cli_refuses_a_journal_from_another_account(tmp_path: Path) -> None:
    source = tmp_path / "posts.jsonl"
    source.write_bytes(b'{"slug": "j-1", "title": "J"}\n{"slug": "j-2", "title": "J"}\n')
    with emulator_in_thread() as staging, emulator_in_thread() as production:
        assert cli(staging, "import", "posts", str(source)).exit_code == 0
        refused = cli(production, "import", "posts", str(source))
        assert refused.exit_code == 1
        assert staging.url in refused.output and production.url in refused.output
        assert "--force-journal" in refused.output
        assert [r for r in production.requests if r.method != "GET"] == []
        forced = cli(production, "import", "posts", str(source), "--force-journal")
        assert forced.exit_code == 0 and "skipped 2" in forced.output  # adopts the journal
