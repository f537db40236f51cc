"""Image transformation URLs for the ButterCMS CDN (Filestack tasks before the file handle).

`image("https://cdn.buttercms.com/3ccPHhYHTNK2zQ14gCOy").resize(width=100, height=100)`
gives `https://cdn.buttercms.com/resize=width:100,height:100/3ccPHhYHTNK2zQ14gCOy`.
Every call returns a new URL; tasks chain in the order they are added.
"""

from __future__ import annotations

from typing import Literal, overload

import attrs
from yarl import URL

from .errors import ConfigurationError

__all__ = [
    "MAX_DIMENSION",
    "Align",
    "Fit",
    "ImageFormat",
    "ImageURL",
    "image",
]

Fit = Literal["clip", "crop", "scale", "max"]
Align = Literal["center", "top", "bottom", "left", "right", "faces"]
ImageFormat = Literal["jpg", "png", "webp", "gif", "avif", "tiff", "bmp"]
_FITS = ("clip", "crop", "scale", "max")
_ALIGNS = ("center", "top", "bottom", "left", "right", "faces")
_FORMATS = ("jpg", "png", "webp", "gif", "avif", "tiff", "bmp")
MAX_DIMENSION = 10_000


def _dimension(name: str, value: int | None) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIMENSION
    ):
        raise ConfigurationError(f"{name} must be an integer from 1 to {MAX_DIMENSION}")


@attrs.frozen
class ImageURL:
    """A CDN image with a chain of transformation tasks; `str()` gives the URL."""

    origin: str
    handle: str
    tasks: tuple[str, ...] = ()

    @classmethod
    def parse(cls, url: str) -> ImageURL:
        """Read a CDN URL (with or without tasks already in it)."""
        parsed = URL(url)
        parts = [part for part in parsed.path.split("/") if part]
        if not parsed.is_absolute() or parsed.scheme not in ("http", "https") or not parts:
            raise ConfigurationError(f"not a CDN image URL: {url!r}")
        if "=" in parts[-1] or parsed.query_string:
            raise ConfigurationError(f"no file handle at the end of {url!r}")
        return cls(str(parsed.origin()), parts[-1], tuple(parts[:-1]))

    def __str__(self) -> str:
        return "/".join([self.origin, *self.tasks, self.handle])

    def _with(self, task: str) -> ImageURL:
        return attrs.evolve(self, tasks=(*self.tasks, task))

    def resize(
        self,
        *,
        width: int | None = None,
        height: int | None = None,
        fit: Fit | None = None,
        align: Align | None = None,
    ) -> ImageURL:
        """Resize to `width` and/or `height`; `fit` and `align` say how the box is filled."""
        if width is None and height is None:
            raise ConfigurationError("resize needs width and/or height")
        _dimension("width", width)
        _dimension("height", height)
        if fit is not None and fit not in _FITS:
            raise ConfigurationError(f"fit must be one of {', '.join(_FITS)}")
        if align is not None and align not in _ALIGNS:
            raise ConfigurationError(f"align must be one of {', '.join(_ALIGNS)}")
        options = {"width": width, "height": height, "fit": fit, "align": align}
        return self._with(
            "resize=" + ",".join(f"{k}:{v}" for k, v in options.items() if v is not None)
        )

    def crop(self, x: int, y: int, width: int, height: int) -> ImageURL:
        """Cut the rectangle at (`x`, `y`) of `width` by `height` pixels."""
        for name, value in (("x", x), ("y", y)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be a non-negative integer")
        _dimension("width", width)
        _dimension("height", height)
        return self._with(f"crop=dim:[{x},{y},{width},{height}]")

    def rotate(self, degrees: int | Literal["exif"]) -> ImageURL:
        """Rotate clockwise by 0-359 degrees, or as the image's EXIF data says."""
        if degrees != "exif" and (
            isinstance(degrees, bool) or not isinstance(degrees, int) or not 0 <= degrees <= 359
        ):
            raise ConfigurationError("degrees must be an integer from 0 to 359, or 'exif'")
        return self._with(f"rotate=deg:{degrees}")

    def flip(self) -> ImageURL:
        """Mirror top to bottom."""
        return self._with("flip")

    def flop(self) -> ImageURL:
        """Mirror left to right."""
        return self._with("flop")

    def output(
        self,
        format: ImageFormat,
        *,
        quality: int | None = None,
        compress: bool = False,
    ) -> ImageURL:
        """Convert to `format`, with an optional `quality` (1-100) and compression."""
        if format not in _FORMATS:
            raise ConfigurationError(f"format must be one of {', '.join(_FORMATS)}")
        if quality is not None and (
            isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100
        ):
            raise ConfigurationError("quality must be an integer from 1 to 100")
        options = [f"format:{format}"]
        if quality is not None:
            options.append(f"quality:{quality}")
        if compress:
            options.append("compress:true")
        return self._with("output=" + ",".join(options))

    def compress(self) -> ImageURL:
        """Compress without changing the format."""
        return self._with("compress")


@overload
def image(url: str) -> ImageURL: ...


@overload
def image(url: None) -> None: ...


def image(url: str | None) -> ImageURL | None:
    """Start transforming the CDN image at `url`; None (a post without one) gives None."""
    return None if url is None else ImageURL.parse(url)
