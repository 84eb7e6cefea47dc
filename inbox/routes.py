"""The inbox endpoints: a person's ``/users/{username}/inbox`` and the shared ``/inbox``.

A request does four things and answers 202: size cap, parse, verify (``inbox.verify``), and
a durable insert unique on the activity id. Handlers run later, in ``inbox.processor``, so a
slow or failing handler never makes a peer wait or retry, and nothing accepted is lost.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.exceptions import IntegrityError

from fediverse_intranet.models import Actor, InboxItem
from inbox import verify
from inbox.verify import InboxRefusal, Received

log = logging.getLogger(__name__)


async def personal_inbox(request: Request) -> Response:
    username = request.path_params["username"].lower()
    recipient = await Actor.filter(username=username, domain="", account__is_active=True).first()
    if recipient is None:
        return _refused(request, InboxRefusal(404, "no such person here"))
    return await _receive(request, recipient)


async def shared_inbox(request: Request) -> Response:
    return await _receive(request, None)


async def _receive(request: Request, recipient: Actor | None) -> Response:
    try:
        received = await verify.receive(request)
    except InboxRefusal as refusal:
        return _refused(request, refusal)
    if await _store(received, recipient):
        log.debug("inbox accepted %s %s", received.activity.type, received.activity.id)
    return Response(status_code=202)


async def _store(received: Received, recipient: Actor | None) -> bool:
    """Insert once; False when the activity was already here (a peer's retry, or a copy sent
    to several inboxes), which is still answered 202."""
    activity = received.activity
    try:  # no look first: the unique index decides, and a look costs a query per request
        await InboxItem.create(
            activity_id=activity.id,
            activity_type=activity.type,
            actor_uri=activity.actor,
            recipient=recipient,
            body=received.text,
        )
    except IntegrityError:  # the same activity arriving twice at once
        return False
    return True


def _refused(request: Request, refusal: InboxRefusal) -> Response:
    peer = request.client.host if request.client else "?"
    log.info(
        "inbox %s refused %s from %s: %s", request.url.path, refusal.status, peer, refusal.reason
    )
    return JSONResponse({"error": refusal.reason}, status_code=refusal.status)


routes = [
    Route("/users/{username}/inbox", personal_inbox, methods=["POST"]),
    Route("/inbox", shared_inbox, methods=["POST"]),
]
