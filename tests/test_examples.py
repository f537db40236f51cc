"""The examples run against the embedded emulator and print what they promise."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from butter_async.testing import Emulator, SeedSpec

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_quickstart_runs_against_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUTTER_READ_TOKEN", raising=False)
    await load("quickstart").main()
    out = capsys.readouterr().out
    assert "streamed 5001 posts" in out
    assert "latest post: 'Example Post' by sdk-tests" in out
    assert "retries: 0" in out


def readme_quickstart() -> str:
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


async def test_readme_quickstart_runs_against_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = readme_quickstart().replace("asyncio.run(main())", "")
    async with Emulator(seed=SeedSpec(posts=30)) as emu:
        monkeypatch.setenv("BUTTER_READ_TOKEN", emu.read_token)
        monkeypatch.setenv("BUTTER_WRITE_TOKEN", emu.write_token)
        monkeypatch.setenv("BUTTER_BASE_URL", emu.url)
        namespace: dict[str, object] = {}
        exec(compile(code, "README.md", "exec"), namespace)
        await namespace["main"]()  # type: ignore[operator]
        assert sum(slug.startswith("imported-") for slug in emu.store.posts) == 100
    out = capsys.readouterr().out
    assert "Example Post" in out
    assert "'created': 100" in out


async def test_aiohttp_app_serves_pages_and_drops_them_on_page_published() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    app_module = load("aiohttp_app")
    async with Emulator(seed=SeedSpec(pages=3)) as emu:
        app = app_module.create_app(emu.read_token, base_url=emu.url, webhook_secret="s")
        async with TestClient(TestServer(app)) as client:
            first = await client.get("/pages/recipe/recipe-000001")
            assert first.status == 200
            assert (await first.json())["fields"]["servings"] == 2
            emu.store.page("recipe-000001").fields[None]["servings"] = 9
            cached = await client.get("/pages/recipe/recipe-000001")
            assert (await cached.json())["fields"]["servings"] == 2  # served from the cache
            hook = {
                "data": {"id": "recipe-000001", "page_type": "recipe"},
                "webhook": {"event": "page.published", "target": "t"},
            }
            anonymous = await client.post("/hooks/butter", json=hook)
            assert anonymous.status == 401
            still = await client.get("/pages/recipe/recipe-000001")
            assert (await still.json())["fields"]["servings"] == 2  # nothing invalidated
            answer = await client.post(
                "/hooks/butter", json=hook, headers={"X-Butter-Webhook-Secret": "s"}
            )
            assert answer.status == 200
            fresh = await client.get("/pages/recipe/recipe-000001")
            assert (await fresh.json())["fields"]["servings"] == 9
            assert (await client.get("/pages/recipe/nope")).status == 404
        gets = [r for r in emu.requests if r.path.startswith("pages/recipe/recipe-000001")]
        assert len(gets) == 2  # one client, one fetch per cache fill


async def test_wordpress_migration_is_complete_and_resumable(tmp_path: Path) -> None:
    migration = load("wordpress_migration")
    export = migration.sample_export(60)
    journal = tmp_path / "wp.journal"
    async with Emulator() as emu, emu.client() as butter:
        report = await migration.migrate(
            butter, export, author_email="sdktests@buttercms.com", journal=journal
        )
        again = await migration.migrate(
            butter, export, author_email="sdktests@buttercms.com", journal=journal
        )
        imported = {slug: r for slug, r in emu.store.posts.items() if slug.startswith("wp-")}
    assert report.ok and report.counts["created"] == 60
    assert again.counts["skipped"] == 60
    assert len(imported) == 60
    assert imported["wp-hello-1"].status == "published"
    assert imported["wp-hello-0"].status == "draft"
    assert [t["slug"] for t in imported["wp-hello-1"].data["tags"]] == ["imported", "batch-1"]


def test_user_suite_example_passes_with_the_plugin() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLES / "test_user_suite.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stdout[-1500:]
    assert "2 passed" in result.stdout
