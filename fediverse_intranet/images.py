"""Validate and re-encode uploaded images (profile photos and post attachments).

Everything a user uploads is decoded and written out again from bare pixels, so no
metadata (EXIF with GPS and camera data, XMP, comments, ICC profiles) can leak, and
only formats we trust reach a decoder's pixel path. Pure and synchronous: callers run
it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, ImageCms, ImageOps

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
# Memory, not only pixels: one image's decoded pixels at most (a 4096x4096 RGBA, or a
# progressive JPEG of about 22 MP), and all decodes of the process together. A decode holds
# about three times its pixels at its peak (decoded, converted and working copies).
MAX_DECODE_BYTES = 64 * 1024 * 1024
DECODE_BUDGET_BYTES = 128 * 1024 * 1024
_COPIES = 3

AVATAR_SIZE = 400
ATTACHMENT_MAX_SIDE = 1600
JPEG_QUALITY = 85

# The formats we accept, and the media type each is served as. MPO is what Pillow calls the
# JPEG files many phone cameras write (JPEG + extra frames).
MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
_ACCEPTED_FORMATS = frozenset(MEDIA_TYPES)
# Everything Pillow may raise on a corrupt or truncated file.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)


class ImageRejected(ValueError):
    """The upload is refused; ``reason`` is a stable code the web layer can translate.

    One of: 'empty', 'too_large', 'not_an_image', 'unsupported_format', 'too_many_pixels'.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProcessedImage:
    """Re-encoded image ready to store; ``media_type`` and ``extension`` match ``data``."""

    data: bytes
    media_type: str  # 'image/jpeg' or 'image/png'
    extension: str  # 'jpg' or 'png'
    width: int
    height: int


class _DecodeBudget:
    """Bytes of decoded pixels all decodes of this process may hold at once.

    A decode waits (in its worker thread) until its share is free, so four large uploads
    at once take turns instead of holding four sets of pixels (measured before: 1.1 GB of
    peak growth for four 6000x6000 PNGs; bench/images.py prints the figure).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        amount = min(amount, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.free >= amount)
            self.free -= amount
        try:
            yield
        finally:
            with self._changed:
                self.free += amount
                self._changed.notify_all()


_budget = _DecodeBudget(DECODE_BUDGET_BYTES)


def decode_cost(im: Image.Image, full_size: tuple[int, int]) -> int:
    """Bytes the pixels of ``im`` take once decoded (after ``draft``), as RGBA: palette,
    grey and RGB images are all converted to RGB or RGBA. A progressive JPEG costs its
    full size whatever the draft scale: libjpeg keeps every coefficient until the last scan."""
    width, height = im.size
    cost = width * height * 4
    if im.format in ("JPEG", "MPO") and im.info.get("progressive"):
        cost = max(cost, full_size[0] * full_size[1] * 3)
    return cost


@contextlib.contextmanager
def opened(source: bytes | Path, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """An image opened from its header only, its format and pixel count checked, nothing
    decoded yet. Anything Pillow raises in the ``with`` body (decoding, ``verify``) is an
    :class:`ImageRejected` too, so no decoder error escapes as something else."""
    try:
        # Pillow warns (and above 2x its limit raises) about bombs inside Image.open; turn
        # the warning into an exception so it can never escape as a mere warning.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            with im:
                if im.format not in _ACCEPTED_FORMATS:
                    raise ImageRejected("unsupported_format")
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageRejected("too_many_pixels")
                yield im
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels") from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejected("not_an_image") from exc


@contextlib.contextmanager
def _decoded(data: bytes, bound: int) -> Iterator[Image.Image]:
    """Check size, format, pixel count and decoded bytes from the header, then decode the
    first frame while holding its share of the process's decode budget.

    ``bound`` lets JPEG decode at a reduced scale (never below ``bound`` on either side).
    """
    if not data:
        raise ImageRejected("empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected("too_large")
    with opened(data) as im:
        width, height = im.size
        im.draft(None, (bound, bound))  # no-op except for JPEG: cheaper big photos
        cost = decode_cost(im, (width, height))
        if cost > MAX_DECODE_BYTES:
            raise ImageRejected("too_many_pixels")
        with _budget.hold(cost * _COPIES):
            im.load()  # first frame only for GIF / animated WebP / MPO
            ImageOps.exif_transpose(im, in_place=True)  # a copy would double the peak
            yield _to_rgb(im)


def _to_rgb(im: Image.Image) -> Image.Image:
    """Normalise any decoded mode to sRGB 'RGB', or 'RGBA' when some pixel is see-through."""
    if im.mode.startswith("I"):  # 16-bit greyscale: scale down, a plain convert would clip
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    target = "RGBA" if "A" in im.mode or "transparency" in im.info else "RGB"
    icc = im.info.get("icc_profile")
    if im.mode not in ("CMYK", target):
        im = im.convert(target)
    if icc:  # bake the colour profile into the pixels, since the profile itself is dropped
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            im = ImageCms.profileToProfile(im, source, srgb, outputMode=target) or im
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # unusable profile: keep the pixels as they are
    if im.mode != target:
        im = im.convert(target)
    # an RGBA image's extrema are a (min, max) pair per band
    if target == "RGBA" and cast(tuple[tuple[int, int], ...], im.getextrema())[3][0] == 255:
        im = im.convert("RGB")  # alpha channel present but fully opaque: a JPEG will do
    return im


def _encode(im: Image.Image) -> ProcessedImage:
    """Write fresh pixels only: a new image has an empty ``info``, so nothing carries over."""
    clean = Image.frombytes(im.mode, im.size, im.tobytes())
    out = io.BytesIO()
    if clean.mode == "RGBA":
        clean.save(out, "PNG", optimize=True)
        media_type, extension = "image/png", "png"
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        media_type, extension = "image/jpeg", "jpg"
    return ProcessedImage(out.getvalue(), media_type, extension, clean.width, clean.height)


def process_avatar(data: bytes) -> ProcessedImage:
    """Centre-crop to a square, shrink to at most 400x400 (never upscale), re-encode."""
    with _decoded(data, AVATAR_SIZE) as im:
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.crop((left, top, left + side, top + side))
        if side > AVATAR_SIZE:
            size = (AVATAR_SIZE, AVATAR_SIZE)
            im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return _encode(im)


def process_attachment(data: bytes) -> ProcessedImage:
    """Fit within 1600x1600 keeping the aspect ratio (never upscale), re-encode."""
    with _decoded(data, ATTACHMENT_MAX_SIDE) as im:
        scale = min(1.0, ATTACHMENT_MAX_SIDE / im.width, ATTACHMENT_MAX_SIDE / im.height)
        if scale < 1.0:
            size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
            im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return _encode(im)
