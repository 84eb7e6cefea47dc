"""Tests for fediverse_intranet.images: every test image is built in memory with Pillow."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from fediverse_intranet.images import (
    MAX_UPLOAD_BYTES,
    ImageRejected,
    ProcessedImage,
    process_attachment,
    process_avatar,
)

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>'


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def reopen(out: ProcessedImage) -> Image.Image:
    im = Image.open(io.BytesIO(out.data))
    im.load()
    assert im.size == (out.width, out.height)
    expected = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png")}[out.media_type]
    assert (im.format, out.extension) == expected
    return im


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tol: int = 8) -> bool:
    return len(pixel) == len(expected) and all(
        abs(a - b) <= tol for a, b in zip(pixel, expected, strict=True)
    )


def stripes(size: tuple[int, int], colours: list[tuple[int, int, int]], vertical=True):
    """Equal stripes of colour, left to right (or top to bottom)."""
    im = Image.new("RGB", size)
    n = len(colours)
    for i, colour in enumerate(colours):
        if vertical:
            box = (size[0] * i // n, 0, size[0] * (i + 1) // n, size[1])
        else:
            box = (0, size[1] * i // n, size[0], size[1] * (i + 1) // n)
        im.paste(colour, box)
    return im


def noise(size: tuple[int, int], seed: int = 1) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def spy_jpeg() -> bytes:
    """200x100, left half red, right half blue, EXIF Orientation=6 + GPS + camera, XMP, comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "SpyCamMake"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 5.0, 12.0),
    }
    data = encode(
        stripes((200, 100), [RED, BLUE]), "JPEG", exif=exif, xmp=XMP, comment=b"secret-comment"
    )
    src = Image.open(io.BytesIO(data))  # the fixture really carries what we strip
    assert src.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert src.info["comment"] == b"secret-comment" and b"secret-xmp" in src.info["xmp"]
    return data


@pytest.mark.parametrize("process", [process_attachment, process_avatar])
def test_jpeg_metadata_stripped(process):
    out = process(spy_jpeg())
    im = reopen(out)
    assert out.media_type == "image/jpeg"
    assert len(im.getexif()) == 0
    assert not {"exif", "xmp", "comment", "icc_profile"} & set(im.info)
    for secret in (b"Exif\0\0", b"SpyCamMake", b"secret-xmp", b"secret-comment", b"adobe"):
        assert secret not in out.data


def test_orientation_applied_attachment():
    im = reopen(process_attachment(spy_jpeg()))
    assert im.size == (100, 200)  # landscape file, Orientation=6: displayed as portrait
    # Rotating 90 degrees clockwise puts the red left half on top.
    assert close(im.getpixel((50, 40)), RED, 40)
    assert close(im.getpixel((50, 160)), BLUE, 40)


def test_orientation_applied_avatar():
    # Displayed 100x200 (red on top, blue below): the centre square is red over blue.
    # Unrotated, the centre square of the stored 200x100 would be red beside blue.
    im = reopen(process_avatar(spy_jpeg()))
    assert im.size == (100, 100)
    assert close(im.getpixel((50, 15)), RED, 40) and close(im.getpixel((50, 85)), BLUE, 40)


def test_png_alpha_kept_and_metadata_stripped():
    src = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    src.paste((0, 0, 255, 255), (60, 0, 120, 80))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCamMake"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(src, "PNG", pnginfo=info, exif=exif, icc_profile=srgb)
    out = process_attachment(data)
    im = reopen(out)
    assert (out.media_type, out.extension, im.mode, im.size) == (
        "image/png",
        "png",
        "RGBA",
        (120, 80),
    )
    assert im.getpixel((10, 40))[3] == 0
    assert im.getpixel((100, 40)) == (0, 0, 255, 255)
    assert im.info == {} and im.text == {} and len(im.getexif()) == 0
    for secret in (b"secret-author", b"secret-xmp", b"SpyCamMake", b"eXIf", b"iCCP"):
        assert secret not in out.data


def test_opaque_alpha_channel_becomes_jpeg():
    out = process_avatar(encode(Image.new("RGBA", (50, 50), (0, 255, 0, 255)), "PNG"))
    assert out.media_type == "image/jpeg"
    assert close(reopen(out).getpixel((25, 25)), GREEN)


def test_large_attachment_fits_box_and_avatar_is_400():
    data = encode(noise((4000, 3500)), "JPEG", quality=50)
    assert process_attachment(data).width == 1600 and process_attachment(data).height == 1400
    assert reopen(process_avatar(data)).size == (400, 400)
    tall = encode(Image.new("RGB", (1000, 3000), RED), "PNG")
    assert reopen(process_attachment(tall)).size == (533, 1600)


def test_small_images_are_not_upscaled():
    im = reopen(process_attachment(encode(Image.new("RGB", (50, 30), RED), "PNG")))
    assert im.size == (50, 30)
    avatar = reopen(process_avatar(encode(stripes((100, 300), [RED, GREEN, BLUE], False), "PNG")))
    assert avatar.size == (100, 100)
    assert close(avatar.getpixel((50, 2)), GREEN) and close(avatar.getpixel((50, 97)), GREEN)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (60, 40), c) for c in (RED, BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = process_attachment(data)
    im = reopen(out)
    assert (out.media_type, im.size) == ("image/jpeg", (60, 40))
    assert close(im.getpixel((30, 20)), RED)


def test_palette_with_transparency_becomes_rgba_png():
    src = Image.new("P", (40, 40), 1)
    src.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    src.paste(0, (0, 0, 20, 40))
    out = process_attachment(encode(src, "GIF", transparency=0))
    im = reopen(out)
    assert (out.media_type, im.mode) == ("image/png", "RGBA")
    assert im.getpixel((5, 5))[3] == 0 and im.getpixel((30, 5)) == (255, 0, 0, 255)


@pytest.mark.parametrize("fmt", ["WEBP", "MPO"])
def test_webp_and_phone_jpeg_accepted(fmt):
    extra = (
        {"save_all": True, "append_images": [Image.new("RGB", (64, 48))]} if fmt == "MPO" else {}
    )
    data = encode(Image.new("RGB", (64, 48), BLUE), fmt, **extra)
    assert Image.open(io.BytesIO(data)).format == fmt
    im = reopen(process_attachment(data))
    assert im.size == (64, 48) and close(im.getpixel((32, 24)), BLUE)


def test_cmyk_and_16_bit_converted():
    cmyk = encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG")
    assert close(reopen(process_attachment(cmyk)).getpixel((10, 10)), RED)
    grey16 = encode(Image.new("I;16", (20, 20), 128 * 256), "PNG")
    assert Image.open(io.BytesIO(grey16)).mode == "I;16"
    im = reopen(process_attachment(grey16))
    assert im.mode == "RGB" and close(im.getpixel((10, 10)), (128, 128, 128), 2)


def test_broken_icc_profile_is_ignored_and_dropped():
    out = process_attachment(encode(Image.new("RGB", (20, 20), GREEN), "JPEG", icc_profile=b"junk"))
    im = reopen(out)
    assert "icc_profile" not in im.info and close(im.getpixel((10, 10)), GREEN)


@pytest.mark.parametrize("process", [process_attachment, process_avatar])
def test_output_is_deterministic(process):
    for data in (spy_jpeg(), encode(Image.new("RGBA", (30, 30), (1, 2, 3, 4)), "PNG")):
        assert process(data) == process(data)


def rejection(data: bytes) -> str:
    with pytest.raises(ImageRejected) as info:
        process_attachment(data)
    with pytest.raises(ImageRejected):
        process_avatar(data)
    assert str(info.value) == info.value.reason
    return info.value.reason


def test_empty_and_too_large():
    assert rejection(b"") == "empty"
    png = encode(Image.new("RGB", (10, 10), RED), "PNG")
    assert rejection(png + b"\0" * (MAX_UPLOAD_BYTES + 1 - len(png))) == "too_large"
    assert process_attachment(png + b"\0" * (MAX_UPLOAD_BYTES - len(png))).width == 10


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_unsupported_formats(fmt):
    assert rejection(encode(Image.new("RGB", (32, 32), RED), fmt)) == "unsupported_format"


def test_not_an_image():
    assert rejection(random.Random(7).randbytes(5000)) == "not_an_image"
    assert rejection(b"just some text, not a picture\n") == "not_an_image"
    assert rejection(encode(Image.new("RGB", (32, 32), RED), "PDF")) == "not_an_image"
    whole = encode(noise((256, 256)), "JPEG")
    assert Image.open(io.BytesIO(whole[: len(whole) // 2])).size == (256, 256)  # header intact
    assert rejection(whole[: len(whole) // 2]) == "not_an_image"


@pytest.mark.parametrize("size", [(8000, 6000), (10_000, 10_000), (50_000, 50_000)])
def test_too_many_pixels_refused_from_header(size):
    # 48M: our own limit (a decode would fail: there is no pixel data); 100M: Pillow warns;
    # 2.5G: Pillow raises DecompressionBombError. None may escape as a warning or exception.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert rejection(png_header(*size)) == "too_many_pixels"
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
