"""Add and Remove sent to us about the sender's own collections.

activitypub.bot announces each change of its own followers and following collections: an
``Add`` (or ``Remove``) of one of our people to ``.../followers`` or ``.../following`` around
each Accept. We keep no copy of another server's collections (the Follow and Accept already
said it all), so such an activity is done with nothing to do, not an error. Any other Add or
Remove (a group's pins and moderators come through the group's Announce) is not handled.
"""

from __future__ import annotations

from activitypub.origin import same_origin
from inbox.handlers import Ignored, Inbound

OWN_COLLECTIONS = ("followers", "following")


async def handle_own_collection(inbound: Inbound) -> None:
    target, sender = inbound.activity.target, inbound.sender
    if target is None:
        raise Ignored(f"an {inbound.activity.type} without a target")
    own = target == sender.followers_url or (
        same_origin(target, sender.uri) and target.rstrip("/").rsplit("/", 1)[-1] in OWN_COLLECTIONS
    )
    if not own:
        raise Ignored(f"an {inbound.activity.type} to a collection that is not handled")
