"""Block and Undo{Block}: a remote person blocks one of ours, or stops blocking them."""

from __future__ import annotations

from fediverse_intranet.models import Actor
from fediverse_intranet.services import remote_interactions
from inbox.handlers import Ignored, Inbound, undo_own


async def handle_block(inbound: Inbound) -> None:
    ref = inbound.activity.object
    target = await _local_person(ref.id if ref is not None else None)
    if target is None:
        raise Ignored("not a block of a person here")
    await remote_interactions.block(inbound.sender, target, inbound.activity.id)


async def handle_undo_block(inbound: Inbound) -> None:
    await undo_own(inbound, "block", remote_interactions.unblock)


async def _local_person(uri: str | None) -> Actor | None:
    return await Actor.filter(uri=uri, domain="").first() if uri else None
