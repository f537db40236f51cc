"""attrs models of the API's objects."""

from .blog import Author, Category, Post, PostDetail, PostSummary, Tag
from .content import CollectionItem, Fields, Page
from .meta import ListMeta

__all__ = [
    "Author",
    "Category",
    "CollectionItem",
    "Fields",
    "ListMeta",
    "Page",
    "Post",
    "PostDetail",
    "PostSummary",
    "Tag",
]
