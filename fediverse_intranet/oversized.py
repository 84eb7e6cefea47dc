"""A request answered before its body was read is drained before the connection closes.

Why: a refusal often comes before the body is read (413 for a Content-Length over the
inbox cap, 404 for an inbox nobody has, 415), or after part of it (a chunked body past the
cap). The client is still sending; if the server then closes (``Connection: close``, or an
HTTP/1.0 proxy such as nginx's default upstream), the kernel answers the unread bytes with
a reset, and the client never reads the answer: nginx logs "writev() failed (32: Broken
pipe) while sending request to upstream" and turns our JSON 413 into its own 502.

So: the answer is written at once, marked ``Connection: close``, and before the response is
completed the rest of the body is read and dropped, up to :data:`DRAIN_MAX_BYTES` and
:data:`DRAIN_SECONDS` (what nginx calls lingering close). Nothing drained is kept.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_MAX_BYTES = 64 * 1024 * 1024  # more than any body a proxy in front should pass on
DRAIN_SECONDS = 10.0


def _expects_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0")):
            return True
    return False


def _expects_continue(scope: Scope) -> bool:
    """``Expect: 100-continue``: the client sends no body until told to, so none to drain."""
    return any(n == b"expect" and v.lower() == b"100-continue" for n, v in scope["headers"])


class AnswerThenDrain:
    """Outermost middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _expects_body(scope):
            await self.app(scope, receive, send)
            return
        body_done = False

        async def counting_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_then_drain(message: Message) -> None:
            if body_done or _expects_continue(scope):
                await send(message)
            elif message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                await send({**message, "headers": [*headers, (b"connection", b"close")]})
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await send({**message, "more_body": True})  # the whole answer is out now
                await _drain(counting_receive)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app(scope, counting_receive, send_then_drain)


async def _drain(receive: Receive) -> None:
    """Read and drop the rest of the body, within the byte and time bounds."""
    dropped = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while dropped <= DRAIN_MAX_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return
