"""The application factory: web routes, static files, error pages, security headers, worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fediverse_intranet import db, instance
from fediverse_intranet.settings import Settings, load_settings
from outbox import worker
from web import STATIC_DIR, errors
from web.routes import all_routes

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


class SecurityHeaders:
    """Every response forbids framing, sniffing and foreign scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    instance.configure(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop)) if settings.run_worker_in_web else None
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
            Mount("/static", StaticFiles(directory=STATIC_DIR)),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: errors.http_error, Exception: errors.server_error},
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
