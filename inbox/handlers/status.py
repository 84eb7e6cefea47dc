"""FEP-82f6 actor statuses: a person elsewhere says where they are (their presence here).

``Create{ActorStatus}`` sets the sender's presence (with its ``endTime``, after which it is
not shown); ``Remove`` or ``Delete`` of a status clears it. Only the sender's own status
counts: one attributed to someone else, or with its id on another server, is ignored.
"""

from __future__ import annotations

from activitypub.context import VocabularyError
from activitypub.origin import same_origin
from activitypub.parse_actor import parse_status
from fediverse_intranet.services import presence_federation
from inbox.handlers import Ignored, Inbound

STATUS_TYPE = "ActorStatus"


async def handle_create(inbound: Inbound) -> None:
    if inbound.sender.is_group:
        raise Ignored("a group has no presence")
    try:
        status = parse_status(inbound.activity.raw.get("object"), inbound.sender.uri)
    except VocabularyError as exc:
        raise Ignored(exc.reason) from None
    await presence_federation.received(inbound.sender, status)


async def handle_clear(inbound: Inbound) -> None:
    ref = inbound.activity.object
    if ref is None or (ref.actor or inbound.sender.uri) != inbound.sender.uri:
        raise Ignored("only its actor may clear a status")
    if ref.id is not None and not same_origin(ref.id, inbound.sender.uri):
        raise Ignored("not the sender's status")
    await presence_federation.received(inbound.sender, None)
