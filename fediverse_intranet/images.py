"""Validate and re-encode uploaded images (profile photos and post attachments).

Everything a user uploads is decoded and written out again from bare pixels, so no
metadata (EXIF with GPS and camera data, XMP, comments, ICC profiles) can leak, and
only formats we trust reach a decoder's pixel path. Pure and synchronous: callers run
it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding

AVATAR_SIZE = 400
ATTACHMENT_MAX_SIDE = 1600
JPEG_QUALITY = 85

# MPO is what Pillow calls the JPEG files many phone cameras write (JPEG + extra frames).
_ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP"})
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


def _decode(data: bytes, bound: int) -> Image.Image:
    """Check size, format and pixel count from the header, then decode the first frame.

    ``bound`` lets JPEG decode at a reduced scale (never below ``bound`` on either side).
    """
    if not data:
        raise ImageRejected("empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected("too_large")
    try:
        # Pillow warns (and above 2x its limit raises) about bombs inside Image.open; turn
        # the warning into an exception so it can never escape as a mere warning.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.format not in _ACCEPTED_FORMATS:
                raise ImageRejected("unsupported_format")
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise ImageRejected("too_many_pixels")
            im.draft(None, (bound, bound))  # no-op except for JPEG: cheaper big photos
            im.load()  # first frame only for GIF / animated WebP / MPO
            return _to_rgb(ImageOps.exif_transpose(im))
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels") from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejected("not_an_image") from exc


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
            im = ImageCms.profileToProfile(im, source, srgb, outputMode=target)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # unusable profile: keep the pixels as they are
    if im.mode != target:
        im = im.convert(target)
    if target == "RGBA" and im.getextrema()[3][0] == 255:
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
    im = _decode(data, AVATAR_SIZE)
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    im = im.crop((left, top, left + side, top + side))
    if side > AVATAR_SIZE:
        im = im.resize((AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _encode(im)


def process_attachment(data: bytes) -> ProcessedImage:
    """Fit within 1600x1600 keeping the aspect ratio (never upscale), re-encode."""
    im = _decode(data, ATTACHMENT_MAX_SIDE)
    scale = min(1.0, ATTACHMENT_MAX_SIDE / im.width, ATTACHMENT_MAX_SIDE / im.height)
    if scale < 1.0:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _encode(im)
