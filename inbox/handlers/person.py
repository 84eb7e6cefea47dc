"""Update and Delete of an actor by itself: a profile change, or leaving the fediverse.

Only an actor's own activity about itself reaches here (the processor dispatches on
``object`` being the sender). Mastodon accepts a Delete of an actor whose key it still
holds; one from an actor we never knew is answered 202 at the door and never stored
(``inbox.verify``), since there is nothing of theirs to remove and their key is gone.
"""

from __future__ import annotations

from fediverse_intranet.services import remote_actors, remote_groups, remote_interactions
from fediverse_intranet.services.remote_actors import RemoteActorError
from inbox.handlers import Ignored, Inbound, taken


async def handle_update(inbound: Inbound) -> None:
    ref = inbound.activity.object
    if ref is None or ref.person is None:
        raise Ignored("not an actor document we can read")
    try:
        actor, current = await remote_actors.update_from_document(ref.person, inbound.sender)
    except RemoteActorError as exc:
        raise Ignored(exc.reason) from None
    if await remote_groups.remote_group_of(actor) is not None:  # a group changed itself
        with taken():
            await remote_groups.adopt(actor, current)


async def handle_delete(inbound: Inbound) -> None:
    with taken():
        await remote_interactions.forget_actor(inbound.sender)
