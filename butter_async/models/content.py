"""Pages and collection items, whose `fields` follow the user's own schema."""

from __future__ import annotations

from typing import Any, Generic

import attrs
from typing_extensions import TypeVar

from .timestamps import AwareDatetime

Fields = dict[str, Any]
#: The type of a page's or item's `fields`: a plain mapping unless the caller names a class.
FieldsT = TypeVar("FieldsT", default=Fields)


@attrs.define
class Page(Generic[FieldsT]):
    """A page: a single page (`page_type` None) or a page of a page type."""

    slug: str
    fields: FieldsT
    name: str | None = None
    page_type: str | None = None
    published: AwareDatetime | None = None
    updated: AwareDatetime | None = None
    scheduled: AwareDatetime | None = None
    status: str | None = None

    def __attrs_pre_init__(self) -> None:
        # Fields a published page's answer leaves out start as None, as in `Post`.
        self.scheduled = None
        self.status = None


@attrs.define
class Media:
    """A media field read with `alt_media_text=True`: the CDN `url` and its alt text.

    Without that option the API sends a media field as its URL string.
    """

    url: str
    alt: str | None = None


@attrs.define
class CollectionItem(Generic[FieldsT]):
    """One item of a collection: its numeric `id` (the API's `meta.id`) and its fields."""

    id: int
    fields: FieldsT


#: `with_fields` answers by (model, fields_type): subscripting a generic, and hashing the
#: result on every structuring, costs more than a page view's cache hit can spare.
#: Bounded, for apps that make field classes on the fly.
_targets: dict[tuple[Any, Any], Any] = {}
_MAX_TARGETS = 256


def with_fields(model: Any, fields_type: type[Any] | None) -> Any:
    """`model[fields_type]`: the structuring target of a page or item with those fields;
    the bare `model` (whose hook reads `fields` as a mapping) when none is named."""
    if fields_type is None:
        return model
    target = _targets.get((model, fields_type))
    if target is None:
        if len(_targets) >= _MAX_TARGETS:
            _targets.clear()
        target = _targets[model, fields_type] = model[fields_type]
    return target
