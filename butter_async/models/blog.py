"""Blog engine models: posts, authors, categories, tags."""

from __future__ import annotations

import attrs

from .timestamps import AwareDatetime


def _recent_posts_unset(model: Category | Tag | Author) -> None:
    """Start `recent_posts`, which answers leave out unless asked, as None (see `Post`)."""
    model.recent_posts = None


@attrs.define
class Category:
    """A blog category; `recent_posts` is set when requested with `include_recent_posts`."""

    slug: str
    name: str | None = None
    recent_posts: list[Post] | None = None

    __attrs_pre_init__ = _recent_posts_unset


@attrs.define
class Tag:
    """A blog tag; `recent_posts` is set when requested with `include_recent_posts`."""

    slug: str
    name: str | None = None
    recent_posts: list[Post] | None = None

    __attrs_pre_init__ = _recent_posts_unset


@attrs.define
class Author:
    """A blog author."""

    slug: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    bio: str | None = None
    title: str | None = None
    linkedin_url: str | None = None
    facebook_url: str | None = None
    instagram_url: str | None = None
    pinterest_url: str | None = None
    twitter_handle: str | None = None
    profile_image: str | None = None
    recent_posts: list[Post] | None = None

    __attrs_pre_init__ = _recent_posts_unset


@attrs.define
class Post:
    """A blog post; `body` is None when listed with `exclude_body=True`."""

    slug: str
    title: str | None = None
    status: str | None = None
    url: str | None = None
    created: AwareDatetime | None = None
    updated: AwareDatetime | None = None
    published: AwareDatetime | None = None
    deleted: AwareDatetime | None = None
    body: str | None = None
    summary: str | None = None
    seo_title: str | None = None
    meta_description: str | None = None
    featured_image: str | None = None
    featured_image_alt: str | None = None
    author: Author | None = None
    categories: list[Category] = attrs.field(factory=list)
    tags: list[Tag] = attrs.field(factory=list)
    rank: float | None = None
    """Search relevance, set on search results only."""

    def __attrs_pre_init__(self) -> None:
        # Fields answers leave out start as None: decoding then finds them set, where an
        # unset slot costs an AttributeError raised and caught (a fifth of a post's decode).
        self.deleted = None
        self.body = None  # left out when listed with exclude_body=True
        self.rank = None


@attrs.define
class PostSummary:
    """The short form of a neighbouring post in a post detail response."""

    slug: str
    title: str | None = None
    featured_image: str | None = None


@attrs.define
class PostDetail:
    """One post with its neighbours in publication order."""

    post: Post
    next_post: PostSummary | None = None
    previous_post: PostSummary | None = None
