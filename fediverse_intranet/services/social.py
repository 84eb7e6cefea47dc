"""Following people and topics, muting what is noise, and pinning organisation news.

Following someone on another server is a request until their server accepts it: the Follow
row waits with ``accepted=False`` and the id of the Follow activity we sent (``uri``), which
the Accept or Reject names (``inbox.handlers.accept``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from secrets import token_hex

from tortoise.transactions import in_transaction

from activitypub import build_activities
from fediverse_intranet import instance, urls
from fediverse_intranet.content import normalise_tag
from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Account,
    Actor,
    Announcement,
    Block,
    Follow,
    Group,
    Mute,
    MuteKind,
    NotificationKind,
    Post,
    Tag,
    TagFollow,
    Visibility,
)
from fediverse_intranet.services import deliveries, federation_policy, notifications, visibility
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.keys import ensure_keys

MAX_MUTE_WORD = 100


async def find_person(handle: str, viewer: Actor) -> Actor:
    """A person (or group: they share the handle space) by ``username`` or
    ``username@domain`` (the domain of this instance is local). A secret group the viewer
    may not know of is a name nobody has: the same answer, the same words."""
    name, _, domain = handle.strip().lower().removeprefix("@").partition("@")
    if domain == instance.current().domain:
        domain = ""
    fits = len(name) <= 64 and len(domain) <= 255  # longer is a ValidationError in the query
    actor = await Actor.filter(username=name, domain=domain).first() if fits else None
    if actor is not None and actor.is_group:
        group = await Group.filter(actor_id=actor.id).first()
        if group is not None and not await visibility.may_know_group(group, viewer):
            actor = None
    if actor is None:
        raise NotFound("Nobody with this name is known here.")
    return actor


class FollowState(StrEnum):
    NONE = "none"
    REQUESTED = "requested"  # a Follow sent to another server, not accepted yet
    FOLLOWING = "following"


async def follow(follower: Actor, followee: Actor) -> FollowState:
    """Follow someone. Here it takes effect at once; elsewhere it is a request that the
    other server accepts (``inbox.handlers.accept``), with the Follow activity queued in the
    same transaction as the row, so neither exists without the other."""
    if follower.id == followee.id:
        raise InvalidInput("You cannot follow yourself.")
    if followee.is_local:
        _, created = await Follow.get_or_create(follower=follower, followee=followee)
        if created:
            await notifications.notify(followee, NotificationKind.FOLLOW, follower, None)
        return FollowState.FOLLOWING
    await _check_remote(follower, followee)
    await ensure_keys(follower)  # before the transaction: it may generate a key (50 ms)
    async with in_transaction():
        row, created = await Follow.get_or_create(
            follower=follower,
            followee=followee,
            defaults={"accepted": False, "uri": urls.follow_id(follower, token_hex(12))},
        )
        if created:
            activity = build_activities.follow(follower.uri, followee.uri, row.uri)
            await deliveries.enqueue(activity, signer=follower, inboxes=[followee.inbox_url])
    return FollowState.FOLLOWING if row.accepted else FollowState.REQUESTED


async def unfollow(follower: Actor, followee: Actor) -> None:
    """Stop following, or withdraw a request; another server is told with Undo{Follow}."""
    if followee.is_local:
        await Follow.filter(follower=follower, followee=followee).delete()
        return
    await ensure_keys(follower)
    async with in_transaction():
        row = await Follow.filter(follower=follower, followee=followee).first()
        if row is None:
            return
        await row.delete()
        sent_id = row.uri or urls.follow_id(follower, str(row.id))
        sent = build_activities.follow(follower.uri, followee.uri, sent_id)
        if followee.inbox_url and await federation_policy.allows_url(followee.uri):
            undo = build_activities.undo(follower.uri, sent)
            await deliveries.enqueue(undo, signer=follower, inboxes=[followee.inbox_url])


async def follow_state(follower: Actor, followee: Actor) -> FollowState:
    row = await Follow.filter(follower=follower, followee=followee).first()
    if row is None:
        return FollowState.NONE
    return FollowState.FOLLOWING if row.accepted else FollowState.REQUESTED


async def is_following(follower: Actor, followee: Actor) -> bool:
    return await Follow.filter(follower=follower, followee=followee, accepted=True).exists()


async def _check_remote(follower: Actor, followee: Actor) -> None:
    if not followee.inbox_url:
        raise InvalidInput("This person cannot be followed from here.")
    if not await federation_policy.allows_url(followee.uri):
        raise PermissionDenied(
            "This instance does not federate with %(host)s.", host=followee.domain
        )
    if await Block.filter(blocker=followee, target=follower).exists():
        raise PermissionDenied("This person does not accept you as a follower.")


async def counts(actor: Actor) -> tuple[int, int]:
    """(followers, following) of a person."""
    return (
        await Follow.filter(followee=actor, accepted=True).count(),
        await Follow.filter(follower=actor, accepted=True).count(),
    )


def clean_tag(raw: str) -> str:
    name = normalise_tag(raw)
    if name is None:
        raise InvalidInput("A tag has letters, digits or underscores, 64 at most.", field="tag")
    return name


async def follow_tag(actor: Actor, raw: str) -> Tag:
    tag, _ = await Tag.get_or_create(name=clean_tag(raw))
    await TagFollow.get_or_create(actor=actor, tag=tag)
    return tag


async def unfollow_tag(actor: Actor, raw: str) -> None:
    await TagFollow.filter(actor=actor, tag__name=clean_tag(raw)).delete()


async def followed_tags(actor: Actor) -> list[str]:
    return [
        tf.tag.name
        for tf in await TagFollow.filter(actor=actor).select_related("tag").order_by("tag__name")
    ]


async def add_mute(owner: Actor, kind: MuteKind, value: str) -> Mute:
    """Mute a word or phrase, a tag, or a person (``value`` is then their handle)."""
    target = None
    if kind == MuteKind.WORD:
        value = " ".join(value.split()).lower()
        if not value or len(value) > MAX_MUTE_WORD:
            raise InvalidInput(
                "Enter a word or phrase of at most %(max)s characters.",
                field="value",
                max=MAX_MUTE_WORD,
            )
    elif kind == MuteKind.TAG:
        value = clean_tag(value)
    else:
        target = await find_person(value, owner)
        if target.id == owner.id:
            raise InvalidInput("You cannot mute yourself.", field="value")
        value = str(target.id)
    mute, _ = await Mute.get_or_create(
        owner=owner, kind=kind, value=value, defaults={"target": target}
    )
    return mute


async def remove_mute(owner: Actor, mute_id: int) -> None:
    await Mute.filter(owner=owner, id=mute_id).delete()


async def mutes(owner: Actor) -> list[Mute]:
    return await Mute.filter(owner=owner).select_related("target").order_by("kind", "value")


async def pin_announcement(
    by: Account, post_id: int, until: datetime | None = None
) -> Announcement:
    """Organisation news: a post of this instance, visible to everyone here, pinned on top."""
    if not by.may_pin_news:
        raise PermissionDenied("Only administrators and communications staff may pin news.")
    post = await Post.filter(id=post_id, deleted_at=None).select_related("author").first()
    if post is None:
        raise NotFound("This post does not exist or you cannot see it.")
    if not post.author.is_local or post.visibility not in (
        Visibility.PUBLIC,
        Visibility.ORGANISATION,
    ):
        raise InvalidInput(
            "Only public or organisation posts of this instance can be pinned as news."
        )
    if until is not None and until <= now():
        raise InvalidInput("Choose an end date in the future.", field="until")
    async with in_transaction():
        await Announcement.filter(post=post).delete()
        return await Announcement.create(post=post, pinned_by=by, until=until)


async def unpin_announcement(by: Account, post_id: int) -> None:
    if not by.may_pin_news:
        raise PermissionDenied("Only administrators and communications staff may pin news.")
    await Announcement.filter(post_id=post_id).delete()


async def current_announcements(viewer: Actor) -> list[Post]:
    """The news pinned now that the viewer may see: a post pinned for everyone can later
    become members-only (its group closed), and then shows nothing of it to the rest."""
    rows = (
        await Announcement.filter(post__deleted_at=None)
        .select_related("post__author")
        .order_by("-pinned_at")
        .limit(10)
    )
    current = now()
    pinned = [a.post for a in rows if a.until is None or a.until > current]
    return await visibility.visible_posts(pinned, viewer)
