"""Uploaded files (``/media/{name}``), for people and for other servers alike.

No sign-in is asked: the file of a public post or profile is for anyone (other servers
fetch the images our documents name), any other only for who may see what it belongs to
(``services.media_access``). This is not a ``view``: it sets no cookies, so a public
answer can be cached anywhere, and a private one says ``private, no-store``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from fediverse_intranet.models import Actor
from fediverse_intranet.services import media, signed_requests
from fediverse_intranet.services.media_access import Access, access
from web import errors
from web.context import signed_in

MEDIA_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
PUBLIC_CACHE = "public, max-age=86400"
# Who asks decides the answer, so every answer but a public file's varies by who asks.
PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Vary": "Cookie, Signature, Signature-Input",
}


async def viewer(request: Request) -> Actor | None:
    """The person of this instance asking, if signed in."""
    account = await signed_in(request)
    return account.actor if account else None


def not_found(request: Request, status: int = 404) -> Response:
    """The same answer as for a file that was never there: nothing tells it exists."""
    response = errors.page(request, status)
    response.headers.update(PRIVATE_HEADERS)
    return response


async def media_file(request: Request) -> Response:
    name = request.path_params["name"]
    path = media.path_of(name)
    media_type = MEDIA_TYPES.get(name.rpartition(".")[2])
    try:
        signer = await signed_requests.signer_of_get(request.scope)
    except signed_requests.Unverified as exc:
        return JSONResponse({"error": exc.reason}, exc.status, headers=PRIVATE_HEADERS)
    allowed = None
    if path is not None and media_type is not None:
        allowed = await access(name, await viewer(request), signer)
    if allowed is None or path is None:
        return not_found(request)
    headers = {"Cache-Control": PUBLIC_CACHE} if allowed == Access.PUBLIC else PRIVATE_HEADERS
    return FileResponse(path, media_type=media_type, headers=headers)


routes = [Route("/media/{name}", media_file, methods=["GET"])]
