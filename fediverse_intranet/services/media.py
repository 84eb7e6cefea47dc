"""Uploaded images: processed off the event loop, stored under the data folder by random name."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from fediverse_intranet import instance
from fediverse_intranet.errors import N_, InvalidInput
from fediverse_intranet.images import (
    MAX_UPLOAD_BYTES,
    ImageRejected,
    ProcessedImage,
    process_attachment,
    process_avatar,
)

FILENAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")

_REASONS = {
    "empty": N_("The file is empty."),
    "too_large": N_("The image is larger than %(mb)s MB."),
    "not_an_image": N_("This file is not an image we can read."),
    "unsupported_format": N_("Use a JPEG, PNG, GIF or WebP image."),
    "too_many_pixels": N_("The image has too many pixels."),
}


async def _process(kind: str, data: bytes, field: str) -> ProcessedImage:
    process = process_avatar if kind == "avatar" else process_attachment
    try:
        return await asyncio.to_thread(process, data)
    except ImageRejected as exc:
        raise InvalidInput(
            _REASONS.get(exc.reason, _REASONS["not_an_image"]),
            field=field,
            mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        ) from None


def _store(image: ProcessedImage) -> str:
    folder = instance.current().media_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(16).lower().replace('_', '-')}.{image.extension}"
    (folder / name).write_bytes(image.data)
    return name


async def save_avatar(data: bytes) -> str:
    return _store(await _process("avatar", data, "photo"))


async def save_attachment(data: bytes, field: str = "images") -> tuple[str, ProcessedImage]:
    image = await _process("attachment", data, field)
    return _store(image), image


def path_of(filename: str) -> Path | None:
    """The stored file for a name from a URL, or None: names never leave the media folder."""
    if (
        not filename
        or len(filename) > 200  # ours are a token and an extension; a longer one is OSError
        or not set(filename) <= FILENAME_CHARS
        or filename.startswith(".")
    ):
        return None
    path = instance.current().media_dir / filename
    return path if path.is_file() else None


def remove(filename: str) -> None:
    path = path_of(filename)
    if path is not None:
        path.unlink(missing_ok=True)
