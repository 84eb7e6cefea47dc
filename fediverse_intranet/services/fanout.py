"""Who on other servers hears of a change made here, and the activity queued for them.

Every function runs inside the caller's transaction, after the change it announces, so the
deliveries commit with the change or not at all. Activity ids come from the rows (the
post's id, the stored Like or Boost id, the edit's time), so the same change queues the same
activity and ``deliveries.enqueue`` never adds it twice to one inbox.

Who a local post reaches is decided in ``services.visibility.delivery_audience``, next to
who may see it: public and followers-only posts the author's followers elsewhere and the
people mentioned, direct posts the mentioned people, organisation-only posts nobody
elsewhere; never anyone who blocked the author.

A post in a group (FEP-1b12) reaches people through the group instead: in a group of ours
the group wraps the author's activity, unchanged, in an ``Announce`` to its members'
servers (for an open group also a plain ``Announce`` of the post, which Mastodon follows
show as a boost); in a group elsewhere the activity goes to the group's inbox, and the
group announces it. A closed group's posts go to its members' servers and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from activitypub import build_activities
from fediverse_intranet import urls
from fediverse_intranet.models import (
    Actor,
    Boost,
    Group,
    Like,
    Membership,
    MemberState,
    Post,
    Visibility,
)
from fediverse_intranet.services import deliveries, keys, visibility
from fediverse_intranet.services.as2 import documents
from fediverse_intranet.services.clock import now
from fediverse_intranet.urls import endpoints, followers_of


async def post_audience(post: Post) -> list[Actor]:
    """The remote people a local post outside groups reaches (``post.author`` loaded)."""
    if post.group_id is not None:
        return []
    return await visibility.delivery_audience(post)


async def _reached(post: Post) -> list[Actor]:
    """Remote people who acted on a post (liked, boosted, answered it): they hold a copy."""
    likers = await Actor.filter(likes__post_id=post.id, domain__not="")
    boosters = await Actor.filter(boosts__post_id=post.id, domain__not="")
    repliers = await Actor.filter(posts__in_reply_to_id=post.id, domain__not="")
    return [*likers, *boosters, *repliers]


async def _send(activity: dict, signer: Actor, people: Iterable[Actor]) -> None:
    inboxes = deliveries.inboxes_of(people)
    if inboxes:
        await deliveries.enqueue(activity, signer, inboxes)


async def post_created(post: Post) -> None:
    if post.group_id is not None:
        await _through_group(post, await documents().create_document(post))
        return
    audience = await post_audience(post)
    if audience:
        await _send(await documents().create_document(post), post.author, audience)


async def post_edited(post: Post, mentioned_before: Iterable[Actor]) -> None:
    """The new version to the post's audience now, and to anyone it mentioned before the
    edit: they hold the old version."""
    if post.group_id is not None:
        await _through_group(post, await documents().update_document(post))
        return
    audience = await post_audience(post)
    if post.visibility != Visibility.ORGANISATION:
        audience = await visibility.unblocked(post.author, [*audience, *mentioned_before])
    if audience:
        await _send(await documents().update_document(post), post.author, audience)


async def post_deleting(post: Post) -> None:
    """Call before the post's mentions, likes and boosts are removed: the Delete goes to
    everyone the post could have reached, and to remote people who acted on it."""
    if post.visibility == Visibility.ORGANISATION:
        return
    if post.group_id is not None:
        await _deleting_in_group(post)
        return
    if not post.author.is_local:
        return
    reached = [*await post_audience(post), *await _reached(post)]
    audience = await visibility.unblocked(post.author, reached)
    if audience:
        await _send(await documents().delete_document(post), post.author, audience)


async def _to_author(activity: dict, actor: Actor, post: Post) -> None:
    """To a remote post's author's own inbox, as Mastodon sends a Like (``post.author``
    loaded); not to an author who blocked ``actor``, nor to a colleague."""
    for author in await visibility.unblocked(actor, [post.author]):
        inbox = author.inbox_url or author.shared_inbox_url
        if inbox:
            await deliveries.enqueue(activity, actor, [inbox])


async def liked(like: Like, actor: Actor, post: Post) -> None:
    activity = documents().like_document(like, actor, post)
    if not await _through_group(post, activity, actor):
        await _to_author(activity, actor, post)


async def unliked(like: Like, actor: Actor, post: Post) -> None:
    activity = build_activities.undo(actor.uri, documents().like_document(like, actor, post))
    if not await _through_group(post, activity, actor):
        await _to_author(activity, actor, post)


async def _boost_audience(actor: Actor, post: Post) -> list[Actor]:
    """The booster's remote followers and a remote post's author."""
    return await visibility.unblocked(
        actor, [*await visibility.remote_followers(actor), post.author]
    )


async def boosted(boost: Boost, actor: Actor, post: Post) -> None:
    activity = documents().announce_document(boost, actor, post)
    await _send(activity, actor, await _boost_audience(actor, post))


async def unboosted(boost: Boost, actor: Actor, post: Post) -> None:
    activity = build_activities.undo(actor.uri, documents().announce_document(boost, actor, post))
    await _send(activity, actor, await _boost_audience(actor, post))


# Groups (FEP-1b12)


async def _deleting_in_group(post: Post) -> None:
    """A post in a group goes: its author's Delete, or a moderator's removal of someone
    else's post (then said by the group itself, which FEP-1b12 receivers trust), announced
    by a group of ours; to a group elsewhere only our own people's deletions go."""
    group = await _group_of(post)
    if group is None:
        return
    activity = await documents().delete_document(post)
    if group.actor.is_local:
        if not post.author.is_local:
            activity["actor"] = group.actor.uri
            activity["id"] = urls.removal_id(post.uri)
        await group_announce(group, activity)
    elif post.author.is_local:
        await _through_group(post, activity)


async def group_moderated(post: Post, by: Actor, kind: str, on: bool) -> None:
    """A moderator of a group of ours pinned ("featured") or locked ("lock") a thread, or
    undid it: the group announces it, as Lemmy does (Add/Remove to the featured collection,
    Lock/Undo{Lock})."""
    group = await _group_of(post)
    if group is None or not group.actor.is_local:
        return
    moment = now()
    where = {"group": group.actor.uri, "followers": followers_of(group.actor)}
    if kind == "featured":
        build, name = (build_activities.add, "add") if on else (build_activities.remove, "remove")
        featured = endpoints(group.actor).featured
        activity = build(
            by.uri, post.uri, featured, urls.moderation_id(post.uri, name, moment), **where
        )
    else:
        lock = build_activities.lock(
            by.uri, post.uri, urls.moderation_id(post.uri, "lock", moment), **where
        )
        activity = lock if on else build_activities.undo_moderation(by.uri, lock)
    await group_announce(group, activity)


async def group_updated(group: Group) -> None:
    """A group of ours changed (settings, archived, reopened): its members' servers get the
    group's ``Update`` of its own actor document, announced by the group as Lemmy sends it,
    so they show the new name and access, and an archived group (``postingRestrictedToMods``)
    as read-only."""
    await group.fetch_related("actor")
    if not group.actor.is_local or not await visibility.group_members_elsewhere(group):
        return
    activity = await documents().group_update_document(group, now())
    await group_announce(group, activity)


async def _group_of(post: Post) -> Group | None:
    if post.group_id is None:
        return None
    return await Group.filter(id=post.group_id).select_related("actor").first()


async def _through_group(post: Post, activity: dict, actor: Actor | None = None) -> bool:
    """Send an activity about a post in a group the group's way; False when the post is in
    no group. ``actor`` (default: the post's author) is who did it, here."""
    group = await _group_of(post)
    if group is None:
        return False
    sender = actor or post.author
    if group.actor.is_local:
        await group_announce(group, activity, post if activity.get("type") == "Create" else None)
    elif sender.is_local:
        inbox = group.actor.inbox_url or group.actor.shared_inbox_url
        if inbox:  # the group announces it to its members, and to us
            await deliveries.enqueue(activity, sender, [inbox])
    return True


async def group_announce(
    group: Group,
    activity: Mapping[str, Any],
    post: Post | None = None,
    also: Iterable[Actor] = (),
) -> None:
    """A group of ours passes an activity (a member's, as received; or one of ours) to its
    members' servers, wrapped unchanged in an Announce signed by the group. A new ``post``
    of an open group is also announced plainly, for Mastodon, which shows it as a boost.
    ``also``: people no longer members who must hear it too (the one banned)."""
    members = [*await visibility.group_members_elsewhere(group), *also]
    inboxes = deliveries.inboxes_of(members)
    if not inboxes:
        return
    actor = await keys.ensure_keys(group.actor)
    followers = followers_of(actor)
    wrapped = build_activities.group_announce(
        actor.uri,
        urls.group_announce_id(actor, str(activity["id"])),
        activity,
        followers=followers,
        members_only=group.members_only,
    )
    await deliveries.enqueue(wrapped, actor, inboxes)
    if post is not None and not group.members_only:
        await post.fetch_related("author")
        plain = build_activities.announce(
            actor.uri,
            post.uri,
            urls.group_boost_id(actor, post.id),
            followers=followers,
            object_author=post.author.uri,
            published=post.created_at,
        )
        await deliveries.enqueue(plain, actor, inboxes)


async def group_answer(group: Group, person: Actor, follow_uri: str, accepted: bool) -> None:
    """The group's Accept or Reject of a remote person's Follow (their request to join),
    signed by the group, to their own inbox."""
    inbox = person.inbox_url or person.shared_inbox_url
    if person.is_local or not inbox:
        return
    actor = await keys.ensure_keys(group.actor)
    # A Follow whose id we no longer have (a removed row) is named by its actor and object,
    # which is how Mastodon and we match such an answer; the id is then made unique.
    follow_uri = follow_uri or urls.follow_id(actor, f"{person.id}/{urls.millis(now())}")
    follow = build_activities.follow(person.uri, actor.uri, follow_uri)
    answer = (
        build_activities.accept(actor.uri, follow)
        if accepted
        else build_activities.reject(actor.uri, follow)
    )
    await deliveries.enqueue(answer, actor, [inbox])


async def membership_changed(change: Any, by: Actor | None = None, follow_uri: str = "") -> None:
    """Tell other servers what a membership change in a group of ours means (call it with
    ``services.memberships.Change``, inside the change's transaction): a remote request
    approved is an Accept; refused, or a member removed, a Reject; a ban a Reject and the
    group's announced Block, so every member's server stops taking their posts; a lifted
    ban an announced Undo of it."""
    group, person = change.group, change.actor
    if person.is_local or not change.changed:
        return
    await group.fetch_related("actor")
    if change.membership is not None:
        follow_uri = follow_uri or change.membership.uri
    if change.after == MemberState.MEMBER and change.before != MemberState.MEMBER:
        await group_answer(group, person, follow_uri, True)
    elif change.after is None and change.before in (MemberState.PENDING, MemberState.MEMBER):
        await group_answer(group, person, follow_uri, False)
    elif change.after == MemberState.BANNED:
        await group_answer(group, person, follow_uri, False)
        # Their own server too: it must stop taking their posts for the group, and show why.
        await group_announce(group, _ban(group.actor, person, by), also=[person])
    elif change.before == MemberState.BANNED and change.after is None:
        ban = _ban(group.actor, person, by)
        undo = build_activities.undo((by or group.actor).uri, ban)
        await group_announce(group, undo, also=[person])


def _ban(group: Actor, person: Actor, by: Actor | None) -> dict[str, Any]:
    """Lemmy's ban from a community: a Block of the person with the group as target."""
    moderator = by or group
    ban_id = urls.ban_id(group, person, now())
    return build_activities.block(
        moderator.uri, person.uri, ban_id, group=group.uri, followers=followers_of(group)
    )


async def joining_group(row: Membership, person: Actor, group: Actor) -> None:
    """One of ours asks to join a group elsewhere: a Follow of the group (``row.uri`` is its
    id) to the group's inbox, signed by the person."""
    inbox = group.inbox_url or group.shared_inbox_url
    if inbox:
        activity = build_activities.follow(person.uri, group.uri, row.uri)
        await deliveries.enqueue(activity, person, [inbox])


async def leaving_group(row: Membership, person: Actor, group: Actor) -> None:
    """One of ours leaves a group elsewhere (or withdraws the request): Undo of the Follow."""
    inbox = group.inbox_url or group.shared_inbox_url
    if inbox and row.uri:
        follow = build_activities.follow(person.uri, group.uri, row.uri)
        await deliveries.enqueue(build_activities.undo(person.uri, follow), person, [inbox])
