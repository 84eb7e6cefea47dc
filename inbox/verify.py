"""The checks an inbox request passes before anything is stored, cheapest first.

Content type and size, then JSON, then the federation policy, then the HTTP signature, then
origin: the signer must be the activity's actor and the activity's id must be on the actor's
server. Each refusal is a ``FederationError`` (an :class:`InboxRefusal`, or the parser's
or the signature check's own) carrying the status to answer and a short reason for the
peer; none of them writes to the database (resolving a signer's key stores or refreshes
that actor's row, which is a cache, not an effect of the activity).

The policy comes before the signature, although a signature is "verification", so that a
blocked server's key is never fetched: we do not contact servers we do not federate with.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from starlette.requests import ClientDisconnect, Request

from activitypub.errors import FederationError
from activitypub.origin import same_origin
from activitypub.parse_activity import Activity, read_activity
from fediverse_intranet.models import Actor
from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import federation_policy, signed_requests

MAX_BODY = 256 * 1024  # Mastodon's own posts are a few KB; 256 KiB leaves room for long articles
MEDIA_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})

BLOCKED = signed_requests.BLOCKED
NOT_THE_SIGNER = "actor does not match the signature"
FOREIGN_ID = "activity id not on the actor's host"
UNKNOWN_ACTOR = "ignored: an actor unknown here deleting or updating itself"


class InboxRefusal(FederationError):
    """Why an inbox request is refused: the HTTP status to answer and a short reason for the
    peer (``inbox.routes`` turns it into the answer)."""

    def __init__(self, status: int, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason, status, retry=retry)


@dataclass(frozen=True)
class Received:
    """An activity that passed every check, with the body exactly as it came."""

    activity: Activity
    text: str
    signer: Actor


async def receive(request: Request) -> Received:
    """Run every check on an inbox POST; raises a ``FederationError`` at the first failure."""
    check_content_type(request.headers.get("content-type", ""))
    body = await read_body(request)
    activity, text = parse_body(body)
    policy = await federation_policy.current()
    if not policy.allows_url(activity.actor):
        raise InboxRefusal(403, BLOCKED)
    await check_unknown_self(activity)
    signer = await verify_signature(request, body, policy)
    check_origin(activity, signer)
    return Received(activity, text, signer)


def check_content_type(header: str) -> None:
    message = Message()
    message["content-type"] = header
    if not header or message.get_content_type() not in MEDIA_TYPES:
        raise InboxRefusal(415, "send application/activity+json")


async def read_body(request: Request) -> bytes:
    """The body, read no further than MAX_BODY whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    length = parse_int(declared, high=2**63 - 1)
    if declared is not None and length is None:
        raise InboxRefusal(400, "invalid content-length")
    if length is not None and length > MAX_BODY:
        raise InboxRefusal(413, f"body larger than {MAX_BODY} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise InboxRefusal(413, f"body larger than {MAX_BODY} bytes")
    except ClientDisconnect:
        raise InboxRefusal(400, "the body was cut off") from None
    return bytes(body)


def parse_body(body: bytes) -> tuple[Activity, str]:
    """The activity, and the body as text (what is stored and processed later); raises
    :class:`ActivityError` (a 400) when it is not one."""
    return read_activity(body), body.decode("utf-8-sig")


async def verify_signature(
    request: Request, body: bytes, policy: federation_policy.Policy
) -> Actor:
    """The actor whose key signed the request; raises ``signed_requests.Unverified`` (401,
    or 403 for a blocked server's key) when there is no valid signature."""
    return await signed_requests.signer_of(request.scope, body, policy)


async def check_unknown_self(activity: Activity) -> None:
    """An actor we never knew deleting or updating itself: answered 202 and not stored.

    Mastodon does the same: when an account is deleted its server sends a Delete to every
    server it knows of, and its key already answers 410, so the signature could never be
    checked. There is nothing of theirs here to remove, and refusing would make the sender
    retry for days.
    """
    about_self = activity.object is not None and activity.object.id == activity.actor
    if (
        activity.type in ("Delete", "Update")
        and about_self
        and not await Actor.filter(uri=activity.actor).exists()
    ):
        raise InboxRefusal(202, UNKNOWN_ACTOR)


def check_origin(activity: Activity, signer: Actor) -> None:
    """A server speaks only for its own actors, and an actor only for itself.

    Forwarded activities (signed by someone else, with a JSON-LD signature of the author)
    are refused too: we do not verify JSON-LD signatures.
    """
    if signer.uri != activity.actor:
        raise InboxRefusal(403, NOT_THE_SIGNER)
    if not same_origin(activity.id, activity.actor):
        raise InboxRefusal(403, FOREIGN_ID)
