"""The emulator's feeds: RSS, Atom and the sitemap as XML text in `data`."""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

from ..state import state_of
from ..store import JSON, NOT_FOUND, StoreError
from ..wire import check_locale, json_response


async def get_feed(request: web.Request) -> web.Response:
    store = state_of(request).store
    locale = check_locale(request)
    kind = request.match_info["kind"]
    filters = {k: request.query[k] for k in ("category_slug", "tag_slug") if request.query.get(k)}
    visible = store.visible_posts(preview=False, filters=filters)[:20]
    posts = [store.post_json(record, locale) for record in visible]
    if kind == "rss":
        xml = _rss(posts)
    elif kind == "atom":
        xml = _atom(posts)
    elif kind == "sitemap":
        xml = _sitemap(posts)
    else:
        raise StoreError(404, NOT_FOUND)
    return json_response({"data": xml})


_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _rss(posts: list[JSON]) -> str:
    items = "".join(
        f"<item><title>{escape(p['title'] or '')}</title><link>{escape(p['slug'])}/</link>"
        f"<description>{escape(p.get('summary') or '')}</description>"
        f"<pubDate>{escape(p.get('published') or '')}</pubDate></item>"
        for p in posts
    )
    return (
        f'{_XML_HEAD}<rss version="2.0"><channel><title>Latest blog posts</title>'
        f"<link>rss/</link>{items}</channel></rss>"
    )


def _atom(posts: list[JSON]) -> str:
    entries = "".join(
        f"<entry><title>{escape(p['title'] or '')}</title><id>{escape(p['slug'])}/</id>"
        f"<updated>{escape(p.get('updated') or '')}</updated></entry>"
        for p in posts
    )
    return (
        f'{_XML_HEAD}<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us">'
        f"<title>Latest blog posts</title>{entries}</feed>"
    )


def _sitemap(posts: list[JSON]) -> str:
    urls = "".join(f"<url><loc>{escape(p['slug'])}/</loc></url>" for p in posts)
    return f'{_XML_HEAD}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
