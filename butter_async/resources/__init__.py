"""One resource class per API family."""

from .blog_meta import AuthorsResource, CategoriesResource, TagsResource
from .collections import CollectionsResource
from .feeds import FeedsResource
from .pages import PagesResource
from .posts import PostsResource

__all__ = [
    "AuthorsResource",
    "CategoriesResource",
    "CollectionsResource",
    "FeedsResource",
    "PagesResource",
    "PostsResource",
    "TagsResource",
]
