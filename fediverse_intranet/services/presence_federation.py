"""Presence across servers, as an FEP-82f6 actor status.

A person's presence (in the office, elsewhere, busy, away, a note and an end time) is their
current ``ActorStatus``: embedded as ``status`` in their actor document
(``outbox.documents.status_of``, reached through the ``services.as2`` port) and, when it
changes, sent as ``Create{ActorStatus}`` (or ``Remove{ActorStatus}`` when cleared) to
their followers elsewhere and, for people who consent to be indexed, to the servers that
read our expertise directory. FEP-82f6 says no
``Update`` of the actor follows: the Create updates the copies elsewhere. The end time
travels as ``endTime``, so the presence expires there by itself too.

Receiving is :func:`received` (``inbox/handlers/status.py``) and, on every fetch of an
actor, ``remote_actors.presence_values``.
"""

from __future__ import annotations

from activitypub import build_activities
from activitypub.parse_actor import RemoteStatus
from fediverse_intranet import urls
from fediverse_intranet.models import Actor, Follow
from fediverse_intranet.services import as2, deliveries, federation_policy, remote_directory
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import presence_values
from fediverse_intranet.urls import followers_of


async def audience(actor: Actor) -> list[str]:
    """Inboxes that hear of this person's presence: followers' servers (once each) and,
    with consent, the servers subscribed to our expertise directory."""
    rows = await Follow.filter(
        followee_id=actor.id, accepted=True, follower__domain__not=""
    ).select_related("follower")
    people = [row.follower for row in rows]
    if actor.indexable:
        people += await remote_directory.readers()
    policy = await federation_policy.current()
    return deliveries.inboxes_of(p for p in people if policy.allows_url(p.uri))


async def fanout_presence(actor: Actor, previous_status: str = "") -> int:
    """Queue the person's presence, just saved, for other servers; call it in the
    transaction that saved it. ``previous_status`` is the status id a clear removes (when
    not given, ``{actor}#status``, which servers of ours accept from the actor itself)."""
    if not actor.is_local or actor.is_group:
        return 0
    inboxes = await audience(actor)
    if not inboxes:
        return 0
    followers = followers_of(actor)
    status = as2.documents().status_of(actor)
    moment = now()
    if status is not None:
        activity_id = urls.status_activity_id(actor, moment)
        activity = build_activities.status_created(actor.uri, status, activity_id, followers)
    else:
        removed = previous_status or urls.cleared_status_id(actor)
        activity_id = urls.status_activity_id(actor, moment, removed=True)
        activity = build_activities.status_removed(actor.uri, removed, activity_id, followers)
    return await deliveries.enqueue(activity, signer=actor, inboxes=inboxes)


async def received(sender: Actor, status: RemoteStatus | None) -> None:
    """A status from a person elsewhere (None: cleared) becomes their presence here."""
    values = presence_values(status)
    for name, value in values.items():
        setattr(sender, name, value)
    await sender.save(update_fields=list(values))
