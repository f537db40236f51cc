"""attrs models of the API's objects.

Response models are slotted but not frozen: building frozen instances costs about a
quarter more per object, and structuring is the hot path of every list walk.
"""

from .blog import Author, Category, Post, PostDetail, PostSummary, Tag
from .content import CollectionItem, Fields, Media, Page
from .meta import ListMeta

__all__ = [
    "Author",
    "Category",
    "CollectionItem",
    "Fields",
    "ListMeta",
    "Media",
    "Page",
    "Post",
    "PostDetail",
    "PostSummary",
    "Tag",
]
