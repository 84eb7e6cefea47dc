"""The inbox endpoints: a person's ``/users/{username}/inbox`` and the shared ``/inbox``.

A request does four things and answers 202: size cap, parse, verify (``inbox.verify``), and
a durable insert unique on the activity id (``inbox.group_commit``: written together with
the other requests of that moment). Handlers run later, in ``inbox.processor``, so a
slow or failing handler never makes a peer wait or retry, and nothing accepted is lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from activitypub import errors
from activitypub.errors import FederationError
from fediverse_intranet.models import Actor, Group, InboxItem, WorkState
from fediverse_intranet.services import clock, sql, visibility
from inbox import verify
from inbox.group_commit import GroupCommit
from inbox.verify import InboxRefusal, Received

log = logging.getLogger(__name__)


async def personal_inbox(request: Request, username: str) -> Response:
    """A person's inbox, or a group's (groups share the handle space and the URL shape).

    A name nobody has, a deactivated person and a secret group the signer's server may not
    know of (``services.visibility.may_know_group``) get the same answer to the same
    request: checked as any inbox POST is, then the 404 of a name nobody has."""
    username = username.lower()
    recipient = await Actor.filter(username=username, domain="", account__is_active=True).first()
    if recipient is not None:
        return await _receive(request, recipient)
    group = await Group.filter(actor__username=username, actor__domain="").first()
    if group is None:
        return await _receive(request, None, exists_for=_nobody)
    actor = await Actor.get(id=group.actor_id)

    async def knows(signer: Actor) -> bool:
        return await visibility.may_know_group(group, signer)

    return await _receive(request, actor, exists_for=knows)


async def _nobody(signer: Actor) -> bool:
    return False


async def shared_inbox(request: Request) -> Response:
    return await _receive(request, None)


async def _receive(
    request: Request,
    recipient: Actor | None,
    *,
    exists_for: Callable[[Actor], Awaitable[bool]] | None = None,
) -> Response:
    """``exists_for``: whether the recipient exists for the verified signer; when not,
    the 404 of a name nobody has."""
    try:
        received = await verify.receive(request)
        if exists_for is not None and not await exists_for(received.signer):
            raise InboxRefusal(404, "no such person here")
    except FederationError as refusal:
        return _refused(request, refusal)
    try:
        await _inbox.add(_row(received, recipient))
    except Exception:  # the database refused or went away: nothing stored, so not accepted
        log.exception("inbox could not store %s", received.activity.id)
        return _refused(request, NOT_STORED)
    return Response(status_code=202)


NOT_STORED = InboxRefusal(503, "could not store the activity now; try again later", retry=True)


_COLUMNS = (
    "activity_id",
    "activity_type",
    "actor_uri",
    "recipient_id",
    "body",
    "state",
    "attempts",
    "error",
    "received_at",
)
Row = tuple[str, str, str, int | None, str, str, int, str, datetime]


def _row(received: Received, recipient: Actor | None) -> Row:
    """An inbox_item row as a tuple: making a model per request cost as much as the insert."""
    activity = received.activity
    return (
        activity.id,
        activity.type,
        activity.actor,
        recipient.id if recipient is not None else None,
        received.text,
        WorkState.PENDING.value,
        0,
        "",
        clock.now(),
    )


async def _insert(rows: list[Row]) -> None:
    """One INSERT for all; an activity already here (a peer's retry, or a copy sent to
    several inboxes) is skipped by the unique index, and still answered 202."""
    await sql.insert_new(InboxItem, _COLUMNS, rows, unique="activity_id")


_inbox: GroupCommit[Row] = GroupCommit(_insert)


def _refused(request: Request, refusal: FederationError) -> Response:
    """The inbox's one mapping of a federation error to its answer (``errors.answer``)."""
    status, body, headers = errors.answer(refusal)
    peer = request.client.host if request.client else "?"
    log.info("inbox %s refused %s from %s: %s", request.url.path, status, peer, refusal.reason)
    return JSONResponse(body, status_code=status, headers=headers)


# The inbox URLs: the shared one, and a person's or group's (the same handle space).
_PATH = re.compile(r"/inbox|/(?:users|groups)/(?P<username>[^/]+)/inbox")


class QuietAcceptedDeliveries(logging.Filter):
    """Keeps uvicorn's access log for everything but inbox POSTs answered 202.

    A busy federation sends thousands of those a minute; each is on record in the inbox
    table (``received_at``), and each refusal is logged with its reason (``_refused``).
    Writing the access line cost ~6 % of accepting one (bench/federation.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args  # uvicorn's: client, method, path with query, HTTP version, status
        if not isinstance(args, tuple) or len(args) != 5 or args[1] != "POST" or args[4] != 202:
            return True
        return _PATH.fullmatch(str(args[2]).partition("?")[0]) is None


ACCESS_LOG_FILTER = QuietAcceptedDeliveries()


def is_inbox(scope: Scope) -> bool:
    return scope["type"] == "http" and _PATH.fullmatch(scope["path"]) is not None


async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """The inbox as its own small ASGI app, ahead of the web stack (``app.InboxFirst``).

    Why: peers POST here far more often than people load pages, and every layer a request
    passes costs the same whatever it carries: through the web stack (three middlewares,
    ~150 routes tried in turn) accepting cost ~10 % more (bench/federation.py). The inbox
    needs none of it: it reads no session or form, renders no page, and bounds its own body
    (``verify.MAX_BODY``).
    """
    request = Request(scope, receive)
    match = _PATH.fullmatch(scope["path"])
    username = match["username"] if match is not None else None
    if request.method != "POST":
        response: Response = JSONResponse(
            {"error": "an inbox takes POST"}, status_code=405, headers={"Allow": "POST"}
        )
    else:
        try:
            response = await (
                personal_inbox(request, username) if username else shared_inbox(request)
            )
        except Exception:  # a bug: logged, and the peer gets JSON, not a page or a trace
            log.exception("inbox %s failed", scope["path"])
            response = JSONResponse({"error": "internal error"}, status_code=500)
    await response(scope, receive, send)
