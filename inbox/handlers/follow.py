"""Follow and Undo{Follow}: a remote person starts or stops following one of our people,
or joins or leaves one of our groups (``inbox.handlers.group``).

Our people do not approve followers by hand (yet), so a Follow is accepted at once: the
Follow row, the notification and the Accept delivery commit together, so the follower is
never told "accepted" about a follow we did not keep, nor kept without being told.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from activitypub import build_activities
from activitypub.parse_activity import Activity, ActivityError, read_activity
from fediverse_intranet.models import Actor, Follow, InboxItem, NotificationKind
from fediverse_intranet.services import deliveries, notifications, remote_groups
from fediverse_intranet.services.keys import ensure_keys
from inbox.handlers import Ignored, Inbound
from inbox.handlers import group as group_handlers


async def handle_follow(inbound: Inbound) -> None:
    activity, follower = inbound.activity, inbound.sender
    group = await remote_groups.local_group(activity.object.id if activity.object else None)
    if group is not None:
        await group_handlers.follow(inbound, group)
        return
    followee = await _local_person(activity.object.id if activity.object else None)
    if followee is None:
        raise Ignored("not a follow of a person here")
    if follower.is_local:
        raise Ignored("a follow between our own people does not come through the inbox")
    if not follower.inbox_url:
        raise Ignored("the follower has no inbox to answer")
    await ensure_keys(followee)  # before the transaction: it may generate a key (50 ms)
    accept = accept_activity(activity, followee, follower)
    async with in_transaction():
        _, created = await Follow.get_or_create(
            follower=follower, followee=followee, defaults={"accepted": True}
        )
        if created:
            await notifications.notify(followee, NotificationKind.FOLLOW, follower, None)
        # A Follow sent again is answered again: the peer may have lost our first Accept.
        await deliveries.enqueue(accept, signer=followee, inboxes=[follower.inbox_url])


async def handle_undo_follow(inbound: Inbound) -> None:
    """Only the follower may undo: the Undo's (verified) actor is the follower we remove."""
    ref, follower = inbound.activity.object, inbound.sender
    if ref is None:
        raise Ignored("nothing to undo")
    if ref.actor is not None and ref.actor != follower.uri:
        raise Ignored("only the follower may undo a follow")
    followee_uri = ref.object or await _followee_of_received_follow(ref.id, follower.uri)
    group = await remote_groups.local_group(followee_uri)
    if group is not None:
        await group_handlers.undo_follow(inbound, group)
        return
    followee = await _local_person(followee_uri, active_only=False)
    if followee is None:
        raise Ignored("not a follow of a person here")
    if not await Follow.filter(follower=follower, followee=followee).delete():
        raise Ignored("no such follow")


def accept_activity(follow: Activity, followee: Actor, follower: Actor) -> dict[str, Any]:
    """The Accept of a Follow with the Follow embedded, as Mastodon sends it; its id comes
    from the Follow's id, so a retried handler queues the same Accept once."""
    embedded = build_activities.follow(follower.uri, followee.uri, follow.id)
    return build_activities.accept(followee.uri, embedded)


async def _local_person(uri: str | None, *, active_only: bool = True) -> Actor | None:
    if uri is None:
        return None
    query = Actor.filter(uri=uri, domain="")
    if active_only:
        query = query.filter(account__is_active=True)
    return await query.first()


async def _followee_of_received_follow(follow_id: str | None, follower_uri: str) -> str | None:
    """An Undo may name the Follow by id alone; we kept that Follow in the inbox queue."""
    if follow_id is None:
        return None
    item = await InboxItem.filter(
        activity_id=follow_id, actor_uri=follower_uri, activity_type="Follow"
    ).first()
    if item is None:
        return None
    try:
        original = read_activity(item.body)
    except ActivityError:
        return None
    return original.object.id if original.object else None
