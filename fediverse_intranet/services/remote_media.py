"""Files that other servers host (a remote post's image, video or audio, a video's still, a
custom emoji), served to readers from here.

A reader's browser never asks a third party: that would tell every server whose files a
post shows who reads it and when (and our Content-Security-Policy allows only this
instance). So this server fetches each file itself, the first time a reader opens it,
through the safe fetcher (the address guard on every hop, a time limit), stops at a cap of
its kind, checks that the bytes are what the kind claims (an image Pillow reads as JPEG,
PNG, GIF or WebP within the pixel bound; a video or audio file with the signature of MP4,
WebM, Ogg, MP3, WAV or FLAC; never HTML or SVG, whatever the server calls it) and keeps it
under ``data/remote-media/``. A file that is too large or not what it claims is refused for
good; a server that does not answer is asked again later, a few times.

Who may open a file is the caller's check (``web.routes.remote_media``): a post's file for
whoever may see the post, an emoji for anyone (an emoji belongs to its server, not a post).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from tortoise.exceptions import IntegrityError

from activitypub.fetch import FetchError
from activitypub.parse_object import Emoji
from fediverse_intranet import instance, urls
from fediverse_intranet.images import MAX_PIXELS, MEDIA_TYPES, ImageRejected, opened
from fediverse_intranet.models import RemoteMedia, RemoteMediaState
from fediverse_intranet.services import federation_policy, remote_client
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import is_http_uri

MB = 1024 * 1024
KINDS = ("image", "video", "audio", "emoji")
# Mastodon keeps remote images up to 16 MB and videos up to 99 MB; an intranet's readers
# need no more, and a file is fetched only when someone opens it.
MAX_BYTES = {"image": 16 * MB, "video": 100 * MB, "audio": 40 * MB, "emoji": MB // 4}
SECONDS = {"image": 20.0, "video": 120.0, "audio": 60.0, "emoji": 10.0}
MAX_EMOJI_PIXELS = 1024 * 1024
MAX_ATTEMPTS = 4  # a server that did not answer is asked again, then given up on
MAX_URL = 1024
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/ogg": "ogv",
    "audio/mp4": "m4a",
    "audio/webm": "weba",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/flac": "flac",
}

_fetching: dict[int, asyncio.Lock] = {}


class Unavailable(Exception):
    """The file cannot be shown: ``refused`` for good (too large, not what it claims, gone),
    or for now (its server did not answer). ``reason`` is for the page and the log."""

    def __init__(self, reason: str, *, refused: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.refused = reason, refused


def cache_dir() -> Path:
    return instance.current().data_dir / "remote-media"


def url_hash(url: str, kind: str) -> str:
    """The key of a file: its URL and what it is to be (the same URL named as an image by
    one post and as a video by another is two files here, each checked as its kind)."""
    return hashlib.sha256(f"{kind} {url}".encode()).hexdigest()


async def register(url: str, kind: str) -> RemoteMedia | None:
    """The row of a remote file (made the first time a post names it); None when the URL
    cannot be one (not http(s), too long) or the kind is not one we show."""
    if kind not in KINDS or len(url) > MAX_URL or not is_http_uri(url):
        return None
    digest = url_hash(url, kind)
    found = await RemoteMedia.get_or_none(url_hash=digest)
    if found is not None:
        return found
    try:
        return await RemoteMedia.create(url_hash=digest, url=url, kind=kind)
    except IntegrityError:  # registered by a concurrent worker a moment ago
        return await RemoteMedia.get_or_none(url_hash=digest)


async def emoji_images(emoji: Iterable[Emoji]) -> dict[str, str]:
    """Shortcode -> the address here of its image, for ``content.link_emoji``."""
    images: dict[str, str] = {}
    for item in emoji:
        media = await register(item.url, "emoji")
        if media is not None:
            images[item.shortcode] = urls.remote_emoji_path(media.id)
    return images


async def emoji(media_id: int) -> RemoteMedia | None:
    return await RemoteMedia.get_or_none(id=media_id, kind="emoji")


async def open_media(media: RemoteMedia) -> tuple[Path, str]:
    """The file here and its media type, fetched and checked now if it has not been yet;
    raises :class:`Unavailable`. Readers of a file being fetched wait for that fetch (one
    lock per file, held only while fetching) instead of starting their own."""
    kept = _kept(media)
    if kept is not None:
        return kept
    lock = _fetching.setdefault(media.id, asyncio.Lock())
    try:
        async with lock:
            await media.refresh_from_db()  # another reader may have fetched it meanwhile
            return _kept(media) or await _fetch(media)
    finally:
        _fetching.pop(media.id, None)


def _kept(media: RemoteMedia) -> tuple[Path, str] | None:
    """The kept file, None when it must be fetched; raises when it cannot be had."""
    path = cache_dir() / media.filename if media.filename else None
    if media.state == RemoteMediaState.CACHED and path is not None and path.is_file():
        return path, media.media_type
    if media.state == RemoteMediaState.REFUSED:
        raise Unavailable(media.reason)
    if media.retry_after is not None and media.retry_after > now():
        raise Unavailable(media.reason, refused=False)
    return None


async def _fetch(media: RemoteMedia) -> tuple[Path, str]:
    if not await federation_policy.allows_url(media.url):
        raise Unavailable("this server is blocked here")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{media.id}-{secrets.token_hex(8)}.part"
    try:
        try:
            with partial.open("wb") as sink:
                await remote_client.fetcher().download(
                    media.url, sink, max_bytes=MAX_BYTES[media.kind], seconds=SECONDS[media.kind]
                )
            media_type = await asyncio.to_thread(checked_type, partial, media.kind)
        except FetchError as exc:
            await _failed(media, str(exc)[:200], final=not exc.retry)
            raise Unavailable(media.reason, refused=not exc.retry) from None
        except Unavailable as exc:
            await _failed(media, exc.reason, final=True)
            raise
        name = f"{media.id}.{EXTENSIONS[media_type]}"
        os.replace(partial, folder / name)
    finally:
        partial.unlink(missing_ok=True)
    media.state, media.media_type, media.filename = RemoteMediaState.CACHED, media_type, name
    media.size, media.reason, media.retry_after = (folder / name).stat().st_size, "", None
    media.fetched_at = now()
    kept = ["state", "media_type", "filename", "size", "reason", "retry_after", "fetched_at"]
    await media.save(update_fields=kept)
    return folder / name, media_type


async def prune(older_than: timedelta) -> tuple[int, int]:
    """Delete the kept files fetched longer ago than ``older_than``, so the cache does not
    grow without end; each is fetched again (and checked again) when someone opens it.
    Refused files stay refused. Returns how many files and bytes were freed."""
    files = freed = 0
    folder = cache_dir()
    old = RemoteMedia.filter(state=RemoteMediaState.CACHED, fetched_at__lt=now() - older_than)
    for media in await old:
        path = folder / media.filename if media.filename else None
        if path is not None and path.is_file():
            freed += path.stat().st_size
            path.unlink(missing_ok=True)
            files += 1
    # The same rows: anything fetched since has a later fetched_at.
    await old.update(state=RemoteMediaState.NEW, filename="", size=0, attempts=0, fetched_at=None)
    return files, freed


async def _failed(media: RemoteMedia, reason: str, *, final: bool) -> None:
    media.attempts += 1
    media.reason = reason
    if final or media.attempts >= MAX_ATTEMPTS:
        media.state, media.retry_after = RemoteMediaState.REFUSED, None
    else:
        media.retry_after = now() + timedelta(minutes=5 * 4 ** (media.attempts - 1))
    await media.save(update_fields=["attempts", "reason", "state", "retry_after"])


# What the bytes are. Pure and synchronous: run in a thread.


def checked_type(path: Path, kind: str) -> str:
    """The media type of the file at ``path`` if it is a file of ``kind`` we show; raises
    :class:`Unavailable` otherwise. Only headers and signatures are read (an image's
    structure is verified without decoding its pixels), so the work is bounded."""
    if kind in ("image", "emoji"):
        return _image_type(path, MAX_EMOJI_PIXELS if kind == "emoji" else MAX_PIXELS)
    with path.open("rb") as file:
        head = file.read(16)
    found = _media_signature(head, kind)
    if found is None:
        raise Unavailable(f"not a {kind} file we can play")
    return found


# Why an image is refused, by ``images.ImageRejected.reason``.
IMAGE_REFUSALS = {
    "unsupported_format": "not an image we show (JPEG, PNG, GIF or WebP)",
    "too_many_pixels": "the image has too many pixels",
}


def _image_type(path: Path, max_pixels: int) -> str:
    """The one image rule of uploads (``images.opened``: format and pixel count from the
    header), then the file's structure verified without decoding its pixels."""
    try:
        with opened(path, max_pixels) as image:
            media_type = MEDIA_TYPES[image.format or ""]
            image.verify()
    except ImageRejected as exc:
        raise Unavailable(IMAGE_REFUSALS.get(exc.reason, "not an image we can read")) from None
    return media_type


def _media_signature(head: bytes, kind: str) -> str | None:
    """A video's or audio file's container from its first bytes."""
    if head[4:8] == b"ftyp":
        return "audio/mp4" if kind == "audio" else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm" if kind == "audio" else "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg" if kind == "audio" else "video/ogg"
    if kind != "audio":
        return None
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    return None
