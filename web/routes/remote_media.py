"""Files of remote posts and custom emoji, served from this server's cache
(``services.remote_media``), so a reader's browser never asks a third party.

Like ``/media/{name}`` this is not a ``view``: it sets no cookies. The file of a post that is
not public says ``private, no-store``; a file that is not the asker's to see, or that was
refused (too large, not what it claimed), does not exist for them (404); a file whose server
did not answer is a 502, worth trying again later.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from fediverse_intranet.models import RemoteMedia
from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import remote_media
from fediverse_intranet.services.media_access import Access, remote_file
from web.routes.media import PRIVATE_HEADERS, PUBLIC_CACHE, not_found, viewer

# Opened on its own, a file is a file: no script, no plugin, no form runs from it.
FILE_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'"}


async def attachment_file(request: Request) -> Response:
    attachment_id = parse_int(request.path_params["attachment"], low=1)
    if attachment_id is None:
        return not_found(request)
    still = request.url.path.endswith("/still")
    found = await remote_file(attachment_id, await viewer(request), still=still)
    if found is None:
        return not_found(request)
    headers = PRIVATE_HEADERS if found.access == Access.PRIVATE else {"Cache-Control": PUBLIC_CACHE}
    return await _serve(request, await remote_media.register(found.url, found.kind), headers)


async def emoji_file(request: Request) -> Response:
    media_id = parse_int(request.path_params["media"], low=1)
    media = await remote_media.emoji(media_id) if media_id is not None else None
    return await _serve(request, media, {"Cache-Control": PUBLIC_CACHE})


async def _serve(request: Request, media: RemoteMedia | None, headers: dict[str, str]) -> Response:
    if media is None:  # no such emoji, or a URL that cannot be a file of ours
        return not_found(request)
    try:
        path, media_type = await remote_media.open_media(media)
    except remote_media.Unavailable as exc:
        return not_found(request, 404 if exc.refused else 502)
    return FileResponse(path, media_type=media_type, headers={**headers, **FILE_HEADERS})


routes = [
    Route("/remote-media/{attachment}", attachment_file, methods=["GET"]),
    Route("/remote-media/{attachment}/still", attachment_file, methods=["GET"]),
    Route("/remote-emoji/{media}", emoji_file, methods=["GET"]),
]
