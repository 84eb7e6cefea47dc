"""What people on other servers do to people and posts here: appreciate (Like), boost
(Announce), block, and leave the fediverse (their actor is deleted).

Each function is repeatable, since the inbox processes at least once: a second Like adds
nothing, undoing what is not there does nothing. Counts are recounted from the rows rather
than incremented, so a repeat can never make them drift. Who sent the activity is the
caller's check; what a remote person may do to a post (only what they can see; boost only
public posts) is checked here with the one visibility rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from fediverse_intranet.models import (
    Actor,
    Block,
    Boost,
    Follow,
    Like,
    NotificationKind,
    Post,
    Visibility,
)
from fediverse_intranet.services import notifications, remote_actors
from fediverse_intranet.services.remote_posts import NotTaken
from fediverse_intranet.services.visibility import can_view


async def like(actor: Actor, post: Post, uri: str) -> bool:
    """A remote person appreciates a post of ours; False when it was known already."""
    if not await can_view(post, actor):
        raise NotTaken("a like of a post the sender cannot see")
    await post.fetch_related("author")
    async with in_transaction():
        _, created = await Like.get_or_create(actor=actor, post=post, defaults={"uri": uri})
        if created:
            await notifications.notify_once(post, NotificationKind.LIKE, actor)
            await _recount_likes(post)
    return created


async def unlike(actor: Actor, *, uri: str | None = None, about: str | None = None) -> bool:
    """Take a like back, named by the Like's id or by the post it was of (``about``)."""
    return await _take_back(Like, _recount_likes, actor, uri, about)


async def boost(actor: Actor, post: Post, uri: str) -> Boost:
    """Someone boosts a post stored here (ours, or a remote one a colleague will see)."""
    if post.visibility != Visibility.PUBLIC or post.deleted_at is not None:
        raise NotTaken("only public posts can be boosted")
    existing = await Boost.filter(actor=actor, post=post).first()
    if existing is not None:
        return existing
    try:
        async with in_transaction():
            made = await Boost.create(actor=actor, post=post, uri=uri)
            await post.fetch_related("author")
            await notifications.notify_once(post, NotificationKind.BOOST, actor)
            await _recount_boosts(post)
    except IntegrityError:  # the same boost, stored by a concurrent worker
        found = await Boost.filter(uri=uri).first()
        if found is None:
            raise NotTaken("a boost with this id exists for another post") from None
        return found
    return made


async def unboost(actor: Actor, *, uri: str | None = None, about: str | None = None) -> bool:
    """Take a boost back, named by the Announce's id or by the boosted post (``about``)."""
    return await _take_back(Boost, _recount_boosts, actor, uri, about)


async def block(blocker: Actor, target: Actor, uri: str) -> None:
    """A remote person blocks one of ours: follows between them end both ways, and nothing
    of ours is delivered to them any more (the fan-out skips them)."""
    async with in_transaction():
        await Block.get_or_create(blocker=blocker, target=target, defaults={"uri": uri})
        await Follow.filter(follower=blocker, followee=target).delete()
        await Follow.filter(follower=target, followee=blocker).delete()


async def unblock(blocker: Actor, *, uri: str | None = None, about: str | None = None) -> bool:
    """Take a block back, named by the Block's id or by the blocked person (``about``)."""
    blocks = Block.filter(blocker=blocker)
    if uri:
        return bool(await blocks.filter(uri=uri).delete())
    if about:
        return bool(await blocks.filter(target__uri=about).delete())
    return False


async def forget_actor(actor: Actor) -> None:
    """A remote actor deleted itself: remove it and, by cascade, its follows, posts, likes,
    boosts and notifications; recount what it liked, boosted or answered here."""
    if actor.is_local:
        raise NotTaken("our own people are not deleted from outside")
    liked = await Like.filter(actor=actor).values_list("post_id", flat=True)
    boosted = await Boost.filter(actor=actor).values_list("post_id", flat=True)
    answered = await Post.filter(author=actor, in_reply_to_id__not_isnull=True).values_list(
        "in_reply_to_id", flat=True
    )
    remote_actors.forget_signer(actor.uri)
    async with in_transaction():
        await actor.delete()  # the database cascades to everything of theirs
        for post in await Post.filter(id__in={*liked, *boosted, *answered}):
            await _recount_likes(post)
            await _recount_boosts(post)
            replies = await Post.filter(in_reply_to_id=post.id, deleted_at=None).count()
            await Post.filter(id=post.id).update(reply_count=replies)


async def _take_back(
    model: type[Like] | type[Boost],
    recount: Callable[[Post], Awaitable[None]],
    actor: Actor,
    uri: str | None,
    post_uri: str | None,
) -> bool:
    """Remove ``actor``'s like or boost named by its activity id or by its post, and
    recount; False when there was none."""
    if not (uri or post_uri):
        return False
    mine = model.filter(actor=actor)
    found = await (mine.filter(uri=uri) if uri else mine.filter(post__uri=post_uri)).first()
    if found is None:
        return False
    post = await Post.get(id=found.post_id)
    async with in_transaction():
        await found.delete()
        await recount(post)
    return True


async def _recount_likes(post: Post) -> None:
    post.like_count = await Like.filter(post_id=post.id).count()
    await Post.filter(id=post.id).update(like_count=post.like_count)


async def _recount_boosts(post: Post) -> None:
    post.boost_count = await Boost.filter(post_id=post.id).count()
    await Post.filter(id=post.id).update(boost_count=post.boost_count)
