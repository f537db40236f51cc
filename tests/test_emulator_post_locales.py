"""The emulator keeps each post's translations and reads show the one `locale` asks for,
as ButterCMS serves localized posts (list, get, search and feeds take `locale`)."""

from __future__ import annotations

import pytest

from butter_async import ButterError
from butter_async.testing import Emulator


async def test_posts_read_in_a_locale_show_its_translation() -> None:
    async with Emulator(locales=("en", "fr")) as emu, emu.client() as butter:
        await butter.posts.create(
            "soup", "Soup", body="<p>Warm</p>", summary="A warm soup", status="published"
        )
        await butter.posts.create("bread", "Bread", body="<p>Crust</p>", status="published")
        emu.localize_post("soup", "fr", title="Soupe", body="<p>Chaude</p>", summary="Chaude")
        french = await butter.posts.get("soup", locale="fr")
        assert (french.post.title, french.post.body) == ("Soupe", "<p>Chaude</p>")
        assert (await butter.posts.get("soup", locale="en")).post.title == "Soup"
        assert (await butter.posts.get("soup")).post.title == "Soup"  # the default locale
        # A post with no translation reads as written in every locale.
        assert (await butter.posts.get("bread", locale="fr")).post.title == "Bread"
        titles = {post.title async for post in butter.posts.list(locale="fr")}
        assert {"Soupe", "Bread"} <= titles and "Soup" not in titles
        assert [p.slug async for p in butter.posts.search("chaude", locale="fr")] == ["soup"]
        assert [p.slug async for p in butter.posts.search("chaude")] == []
        assert "Soupe" in await butter.feeds.rss(locale="fr")
        assert "Soupe" not in await butter.feeds.rss(locale="en")
        with pytest.raises(ButterError, match="locale"):
            await butter.posts.list(locale="de").first()


async def test_a_translation_needs_a_known_locale_and_post_text_fields() -> None:
    async with Emulator(locales=("en", "fr")) as emu, emu.client() as butter:
        await butter.posts.create("soup", "Soup", status="published")
        with pytest.raises(ValueError, match="no locale 'de'"):
            emu.localize_post("soup", "de", title="Suppe")
        with pytest.raises(ValueError, match="no post 'stew'"):
            emu.localize_post("stew", "fr", title="Ragoût")
        with pytest.raises(ValueError, match="not a post text field: author"):
            emu.localize_post("soup", "fr", author="someone")
