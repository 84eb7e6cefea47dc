"""Error pages for what no view handled: unknown URLs, wrong methods, oversized bodies, bugs.

A person always gets a page in their language with a reason, never a stack trace.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fediverse_intranet.errors import N_
from web import i18n
from web.templating import render

log = logging.getLogger(__name__)

MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("Please sign in first."),
    403: N_("You may not do this."),
    404: N_("This page does not exist."),
    405: N_("This address does not accept this kind of request."),
    413: N_("What you sent is too large. Images may be at most 8 MB each."),
    429: N_("Too many requests. Wait a moment and try again."),
    500: N_("Something went wrong on our side. Please try again later."),
    502: N_("Another server did not answer. Please try again later."),
}


def page(request: Request, status: int) -> Response:
    """The error page (or JSON, for a client that asks only for JSON) for a status."""
    i18n.activate(
        i18n.choose_locale(
            request.cookies.get("fi_lang", ""), request.headers.get("accept-language", "")
        )
    )
    message = i18n.gettext_(MESSAGES.get(status, MESSAGES[400]))
    if "json" in request.headers.get("accept", "") and "html" not in request.headers.get(
        "accept", ""
    ):
        return JSONResponse({"error": message}, status_code=status)
    context = {"request": request, "ctx": None, "me": None, "message": message, "status": status}
    return render("error.html", {"errors": {}, "form": {}, **context}, status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return page(request, exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return page(request, 500)
