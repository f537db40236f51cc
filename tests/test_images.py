"""CDN image transformation URLs, checked against the documented examples."""

from __future__ import annotations

import pytest

from butter_async import ConfigurationError
from butter_async.images import image

HANDLE = "https://cdn.buttercms.com/3ccPHhYHTNK2zQ14gCOy"


def test_documented_thumbnail_example() -> None:
    assert str(image(HANDLE).resize(width=100, height=100)) == (
        "https://cdn.buttercms.com/resize=width:100,height:100/3ccPHhYHTNK2zQ14gCOy"
    )


def test_tasks_chain_in_order() -> None:
    url = (
        image(HANDLE)
        .crop(10, 20, 300, 200)
        .resize(width=150, fit="crop", align="faces")
        .rotate(90)
        .flip()
        .flop()
        .output("webp", quality=80, compress=True)
    )
    assert str(url) == (
        "https://cdn.buttercms.com/crop=dim:[10,20,300,200]/"
        "resize=width:150,fit:crop,align:faces/rotate=deg:90/flip/flop/"
        "output=format:webp,quality:80,compress:true/3ccPHhYHTNK2zQ14gCOy"
    )


def test_existing_tasks_are_kept_and_urls_are_immutable() -> None:
    base = image("https://cdn.buttercms.com/resize=width:50/abc")
    assert str(base.compress()) == "https://cdn.buttercms.com/resize=width:50/compress/abc"
    assert str(base) == "https://cdn.buttercms.com/resize=width:50/abc"
    assert str(image(HANDLE).rotate("exif")).endswith("/rotate=deg:exif/3ccPHhYHTNK2zQ14gCOy")


@pytest.mark.parametrize(
    "make",
    [
        lambda: image(HANDLE).resize(),
        lambda: image(HANDLE).resize(width=0),
        lambda: image(HANDLE).resize(width=20_000),
        lambda: image(HANDLE).resize(width=10, fit="stretch"),  # type: ignore[arg-type]
        lambda: image(HANDLE).crop(-1, 0, 10, 10),
        lambda: image(HANDLE).rotate(360),
        lambda: image(HANDLE).output("exe"),  # type: ignore[arg-type]
        lambda: image(HANDLE).output("png", quality=0),
        lambda: image("not a url"),
        lambda: image("https://cdn.buttercms.com/"),
        lambda: image("https://cdn.buttercms.com/resize=width:5"),
    ],
)
def test_invalid_arguments_are_refused(make: object) -> None:
    with pytest.raises(ConfigurationError):
        make()  # type: ignore[operator]
