"""The emulator's aiohttp.web application: the ButterCMS v2 read and write API."""

from __future__ import annotations

from aiohttp import web

from .handlers import collections, feeds, pages, posts
from .middleware import MIDDLEWARES
from .state import STATE_KEY, EmulatorState
from .wire import API_ROOT


def build_app(state: EmulatorState) -> web.Application:
    """The aiohttp application serving `state` under `/v2/`."""
    app = web.Application(middlewares=MIDDLEWARES)
    app[STATE_KEY] = state
    r = app.router
    v2 = API_ROOT.rstrip("/")
    r.add_get(f"{v2}/pages/search/", pages.search_pages)
    r.add_post(f"{v2}/pages/", pages.create_page)
    r.add_get(f"{v2}/pages/{{page_type}}/", pages.list_pages)
    r.add_get(f"{v2}/pages/{{page_type}}/{{slug}}/", pages.get_page)
    for method in ("PATCH", "PUT"):
        r.add_route(method, f"{v2}/pages/{{page_type}}/{{slug}}/", pages.update_page)
        r.add_route(method, f"{v2}/posts/{{slug}}/", posts.update_post)
        r.add_route(
            method, f"{v2}/content/{{key}}/{{item_id}}/", collections.update_collection_item
        )
    r.add_delete(f"{v2}/pages/{{page_type}}/{{slug}}/", pages.delete_page)
    r.add_get(f"{v2}/posts/", posts.list_posts)
    r.add_post(f"{v2}/posts/", posts.create_post)
    r.add_get(f"{v2}/posts/search/", posts.search_posts)
    r.add_get(f"{v2}/posts/{{slug}}/", posts.get_post)
    r.add_delete(f"{v2}/posts/{{slug}}/", posts.delete_post)
    for kind in ("authors", "categories", "tags"):
        r.add_get(f"{v2}/{kind}/", posts.blog_terms(kind))
        r.add_get(f"{v2}/{kind}/{{slug}}/", posts.blog_terms(kind))
    r.add_get(f"{v2}/content/", collections.get_collections)
    r.add_post(f"{v2}/content/", collections.create_collection_item)
    r.add_get(f"{v2}/content/{{key}}/", collections.list_collection)
    r.add_post(f"{v2}/content/{{key}}/", collections.create_collection_item)
    r.add_get(f"{v2}/content/{{key}}/{{item_id}}/", collections.get_collection_item)
    r.add_delete(f"{v2}/content/{{key}}/{{item_id}}/", collections.delete_collection_item)
    r.add_get(f"{v2}/feeds/{{kind}}/", feeds.get_feed)
    return app
