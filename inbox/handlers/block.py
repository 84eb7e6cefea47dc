"""Block and Undo{Block}: a remote person blocks one of ours, or stops blocking them."""

from __future__ import annotations

from fediverse_intranet.models import Actor
from fediverse_intranet.services import remote_interactions
from inbox.handlers import Ignored, Inbound


async def handle_block(inbound: Inbound) -> None:
    ref = inbound.activity.object
    target = await _local_person(ref.id if ref is not None else None)
    if target is None:
        raise Ignored("not a block of a person here")
    await remote_interactions.block(inbound.sender, target, inbound.activity.id)


async def handle_undo_block(inbound: Inbound) -> None:
    ref, sender = inbound.activity.object, inbound.sender
    if ref is None:
        raise Ignored("nothing to undo")
    if ref.actor is not None and ref.actor != sender.uri:
        raise Ignored("only the blocker may undo a block")
    removed = bool(ref.id) and await remote_interactions.unblock(sender, uri=ref.id)
    target = await _local_person(ref.object)
    if not removed and target is not None:
        removed = await remote_interactions.unblock(sender, target=target)
    if not removed:
        raise Ignored("no such block")


async def _local_person(uri: str | None) -> Actor | None:
    return await Actor.filter(uri=uri, domain="").first() if uri else None
