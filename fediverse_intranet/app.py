"""The application factory: web routes, federation routes, static files, error pages,
security headers, content negotiation, worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activitypub.negotiation import prefers_activity_json
from fediverse_intranet import background, db, instance
from fediverse_intranet.composition import compose
from fediverse_intranet.oversized import AnswerThenDrain
from fediverse_intranet.settings import Settings, load_settings
from inbox import routes as inbox
from outbox.routes import AP_PREFIX
from outbox.routes import routes as federation_routes
from web import STATIC_DIR, errors
from web.routes import all_routes
from web.routes.remote_groups import routes as remote_group_routes

MAX_BODY_BYTES = 40 * 1024 * 1024  # four images of 8 MB and the text around them

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def hsts_header(settings: Settings) -> list[tuple[bytes, bytes]]:
    """``Strict-Transport-Security`` for answers over HTTPS: a year by default, no
    ``includeSubDomains`` or ``preload`` (other hosts of the domain are not ours to bind)."""
    if settings.hsts_max_age <= 0:
        return []
    return [(b"strict-transport-security", f"max-age={settings.hsts_max_age}".encode())]


class SecurityHeaders:
    """Every response forbids framing, sniffing and foreign scripts; over HTTPS it also
    tells the browser to use HTTPS only (HSTS).

    HTTPS means the request's scheme: ``serve`` answering TLS itself, or a proxy named in
    ``FI_TRUSTED_PROXIES`` saying ``X-Forwarded-Proto: https`` (uvicorn believes the header
    only from those). Never over plain HTTP, where a browser would ignore it anyway.
    """

    def __init__(self, app: ASGIApp, hsts: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.hsts = hsts or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*SECURITY_HEADERS, *(self.hsts if scope.get("scheme") == "https" else [])]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# URLs that are a web page for people and an ActivityStreams document for servers.
_NEGOTIATED = re.compile(
    r"/(?:users/|@)(?P<user>[^/]+)|/posts/(?P<post>[^/]+)|/groups/(?P<group>[^/]+)"
)
_REDIRECTABLE_NAME = re.compile(r"[A-Za-z0-9_]{1,30}")


class ActivityNegotiation:
    """Content negotiation in one place: for ``/users/{name}``, ``/@{name}`` and
    ``/posts/{id}``, a request whose ``Accept`` asks for ActivityStreams JSON is routed to
    the JSON handlers (rewritten to ``/ap/...``); otherwise ``/posts/{id}`` stays the web
    page and ``/users/{name}`` sends a browser to the profile page ``/@{name}`` (303).
    Both kinds of answer say ``Vary: Accept``, so no cache hands one to the other.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            match = _NEGOTIATED.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        accept = b",".join(v for k, v in scope["headers"] if k == b"accept").decode("latin-1")
        user, post, group = match.group("user"), match.group("post"), match.group("group")
        if prefers_activity_json(accept):
            target = (
                f"{AP_PREFIX}/users/{user}"
                if user is not None
                else f"{AP_PREFIX}/groups/{group}"
                if group is not None
                else f"{AP_PREFIX}/posts/{post}"
            )
            scope = {**scope, "path": target, "raw_path": quote(target).encode("ascii")}
        elif scope["path"].startswith("/users/") and _REDIRECTABLE_NAME.fullmatch(user or ""):
            redirect = RedirectResponse(f"/@{user}", status_code=303, headers={"Vary": "Accept"})
            await redirect(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"vary", b"Accept")]
            await send(message)

        await self.app(scope, receive, send_with_vary)


class InboxFirst:
    """Inbox requests go straight to the inbox's own small ASGI app (``inbox.routes.asgi``)
    with the security headers; everything else to the web application."""

    def __init__(self, app: ASGIApp, hsts: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.inbox = SecurityHeaders(inbox.asgi, hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.inbox if inbox.is_inbox(scope) else self.app)(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    instance.configure(settings)
    compose()
    hsts = hsts_header(settings)
    logging.getLogger("uvicorn.access").addFilter(inbox.ACCESS_LOG_FILTER)  # once: same object

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(background.run(stop)) if settings.run_worker_in_web else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await db.disconnect()

    return Starlette(
        routes=[
            *all_routes(),
            *remote_group_routes,
            *federation_routes,
            Mount("/static", StaticFiles(directory=STATIC_DIR)),
        ],
        middleware=[
            # Outermost, so that every early answer (the body limit's 413 too) is drained.
            Middleware(AnswerThenDrain),
            Middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY_BYTES),
            Middleware(InboxFirst, hsts=hsts),
            Middleware(SecurityHeaders, hsts=hsts),
            Middleware(ActivityNegotiation),
        ],
        exception_handlers={HTTPException: errors.http_error, Exception: errors.server_error},
        lifespan=lifespan,
    )
