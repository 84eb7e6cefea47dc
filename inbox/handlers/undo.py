"""An Undo naming, by id alone, an activity we cannot place (it never reached our inbox
queue, or was removed from it): the id is matched against the likes, boosts and blocks the
sender made here."""

from __future__ import annotations

from fediverse_intranet.services import remote_interactions
from inbox.handlers import Ignored, Inbound


async def handle_undo_unknown(inbound: Inbound) -> None:
    ref, sender = inbound.activity.object, inbound.sender
    uri = ref.id if ref is not None else None
    if uri is None:
        raise Ignored("nothing to undo")
    for undo in (
        remote_interactions.unlike,
        remote_interactions.unboost,
        remote_interactions.unblock,
    ):
        if await undo(sender, uri=uri):
            return
    raise Ignored("nothing of the sender's has this id")
