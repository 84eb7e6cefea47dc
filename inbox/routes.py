"""The inbox endpoints: a person's ``/users/{username}/inbox`` and the shared ``/inbox``.

A request does four things and answers 202: size cap, parse, verify (``inbox.verify``), and
a durable insert unique on the activity id (``inbox.group_commit``: written together with
the other requests of that moment). Handlers run later, in ``inbox.processor``, so a
slow or failing handler never makes a peer wait or retry, and nothing accepted is lost.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fediverse_intranet.models import Actor, Group, GroupAccess, InboxItem, Membership
from inbox import verify
from inbox.group_commit import GroupCommit
from inbox.verify import InboxRefusal, Received

log = logging.getLogger(__name__)


async def personal_inbox(request: Request) -> Response:
    """A person's inbox, or a group's (groups share the handle space and the URL shape)."""
    username = request.path_params["username"].lower()
    recipient = await Actor.filter(username=username, domain="", account__is_active=True).first()
    secret = False
    if recipient is None:
        group = await Group.filter(actor__username=username, actor__domain="").first()
        recipient = await Actor.get(id=group.actor_id) if group is not None else None
        secret = group is not None and group.access == GroupAccess.SECRET
    if recipient is None:
        return _refused(request, InboxRefusal(404, "no such person here"))
    return await _receive(request, recipient, secret=secret)


async def shared_inbox(request: Request) -> Response:
    return await _receive(request, None)


async def _receive(request: Request, recipient: Actor | None, *, secret: bool = False) -> Response:
    """``secret``: the inbox of a secret group, which exists only for those invited to it
    or in it; anyone else gets the 404 of a name nobody has."""
    try:
        received = await verify.receive(request)
        if (
            secret
            and not await Membership.filter(
                group__actor_id=recipient.id if recipient else 0, actor_id=received.signer.id
            ).exists()
        ):
            raise InboxRefusal(404, "no such person here")
    except InboxRefusal as refusal:
        return _refused(request, refusal)
    try:
        await _inbox.add(_row(received, recipient))
    except Exception:  # the database refused or went away: nothing stored, so not accepted
        log.exception("inbox could not store %s", received.activity.id)
        return JSONResponse(
            {"error": "could not store the activity now; try again later"},
            status_code=503,
            headers={"Retry-After": "60"},
        )
    return Response(status_code=202)


def _row(received: Received, recipient: Actor | None) -> InboxItem:
    activity = received.activity
    return InboxItem(
        activity_id=activity.id,
        activity_type=activity.type,
        actor_uri=activity.actor,
        recipient=recipient,
        body=received.text,
    )


async def _insert(rows: list[InboxItem]) -> None:
    """One INSERT for all; an activity already here (a peer's retry, or a copy sent to
    several inboxes) is skipped by the unique index, and still answered 202."""
    await InboxItem.bulk_create(rows, ignore_conflicts=True)


_inbox: GroupCommit[InboxItem] = GroupCommit(_insert)


def _refused(request: Request, refusal: InboxRefusal) -> Response:
    peer = request.client.host if request.client else "?"
    log.info(
        "inbox %s refused %s from %s: %s", request.url.path, refusal.status, peer, refusal.reason
    )
    return JSONResponse({"error": refusal.reason}, status_code=refusal.status)


routes = [
    Route("/users/{username}/inbox", personal_inbox, methods=["POST"]),
    Route("/groups/{username}/inbox", personal_inbox, methods=["POST"]),
    Route("/inbox", shared_inbox, methods=["POST"]),
]
