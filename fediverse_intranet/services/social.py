"""Following people and topics, muting what is noise, and pinning organisation news."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from fediverse_intranet import instance
from fediverse_intranet.content import normalise_tag
from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Account,
    Actor,
    Announcement,
    Follow,
    Mute,
    MuteKind,
    NotificationKind,
    Post,
    Tag,
    TagFollow,
    Visibility,
)
from fediverse_intranet.services import notifications
from fediverse_intranet.services.clock import now

MAX_MUTE_WORD = 100


async def find_person(handle: str) -> Actor:
    """A person by ``username`` or ``username@domain`` (the domain of this instance is local)."""
    name, _, domain = handle.strip().lower().removeprefix("@").partition("@")
    if domain == instance.current().domain:
        domain = ""
    actor = await Actor.filter(username=name, domain=domain).first()
    if actor is None:
        raise NotFound("Nobody with this name is known here.")
    return actor


async def follow(follower: Actor, followee: Actor) -> None:
    if follower.id == followee.id:
        raise InvalidInput("You cannot follow yourself.")
    _, created = await Follow.get_or_create(follower=follower, followee=followee)
    if created:
        await notifications.notify(followee, NotificationKind.FOLLOW, follower, None)


async def unfollow(follower: Actor, followee: Actor) -> None:
    await Follow.filter(follower=follower, followee=followee).delete()


async def is_following(follower: Actor, followee: Actor) -> bool:
    return await Follow.filter(follower=follower, followee=followee, accepted=True).exists()


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
        target = await find_person(value)
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


async def current_announcements() -> list[Post]:
    rows = (
        await Announcement.filter(post__deleted_at=None)
        .select_related("post__author")
        .order_by("-pinned_at")
        .limit(10)
    )
    current = now()
    return [a.post for a in rows if a.until is None or a.until > current]
