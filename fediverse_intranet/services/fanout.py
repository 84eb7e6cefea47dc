"""Who on other servers hears of a change made here, and the activity queued for them.

Every function runs inside the caller's transaction, after the change it announces, so the
deliveries commit with the change or not at all. Activity ids come from the rows (the
post's id, the stored Like or Boost id, the edit's time), so the same change queues the same
activity and ``deliveries.enqueue`` never adds it twice to one inbox.

The audience of a local post, as Mastodon reaches it:

- public and followers-only: the author's accepted followers on other servers (one shared
  inbox per server), the people it mentions, and the author of the post it answers;
- direct: the mentioned people only (a reply's parent author is one of them);
- organisation-only: nobody elsewhere, ever.

Nobody who blocked the author (``Block``: a remote blocker, our person the target) is sent
anything by that author.
"""

from __future__ import annotations

from collections.abc import Iterable

from fediverse_intranet.models import Actor, Block, Boost, Follow, Like, Mention, Post, Visibility
from fediverse_intranet.services import deliveries
from outbox import documents


async def remote_followers(actor: Actor) -> list[Actor]:
    rows = await Follow.filter(
        followee_id=actor.id, accepted=True, follower__domain__not=""
    ).select_related("follower")
    return [row.follower for row in rows]


async def _unblocked(sender: Actor, people: Iterable[Actor]) -> list[Actor]:
    """Remote people, once each, leaving out those who blocked ``sender``."""
    blockers = set(await Block.filter(target_id=sender.id).values_list("blocker_id", flat=True))
    chosen: dict[int, Actor] = {}
    for person in people:
        if not person.is_local and person.id not in blockers:
            chosen.setdefault(person.id, person)
    return list(chosen.values())


async def post_audience(post: Post) -> list[Actor]:
    """The remote people a local post reaches (``post.author`` loaded)."""
    if post.visibility == Visibility.ORGANISATION or not post.author.is_local:
        return []
    people = [m.actor for m in await Mention.filter(post_id=post.id).select_related("actor")]
    if post.visibility in (Visibility.PUBLIC, Visibility.FOLLOWERS):
        people += await remote_followers(post.author)
        if post.in_reply_to_id:
            parent = await Post.filter(id=post.in_reply_to_id).select_related("author").first()
            if parent is not None:
                people.append(parent.author)
    return await _unblocked(post.author, people)


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
    audience = await post_audience(post)
    if audience:
        await _send(await documents.create_document(post), post.author, audience)


async def post_edited(post: Post, mentioned_before: Iterable[Actor]) -> None:
    """The new version to the post's audience now, and to anyone it mentioned before the
    edit: they hold the old version."""
    audience = await post_audience(post)
    if post.visibility != Visibility.ORGANISATION:
        audience = await _unblocked(post.author, [*audience, *mentioned_before])
    if audience:
        await _send(await documents.update_document(post), post.author, audience)


async def post_deleting(post: Post) -> None:
    """Call before the post's mentions, likes and boosts are removed: the Delete goes to
    everyone the post could have reached, and to remote people who acted on it."""
    if post.visibility == Visibility.ORGANISATION or not post.author.is_local:
        return
    reached = [*await post_audience(post), *await _reached(post)]
    audience = await _unblocked(post.author, reached)
    if audience:
        await _send(await documents.delete_document(post), post.author, audience)


async def _to_author(activity: dict, actor: Actor, post: Post) -> None:
    """To a remote post's author's own inbox, as Mastodon sends a Like (``post.author``
    loaded); not to an author who blocked ``actor``, nor to a colleague."""
    for author in await _unblocked(actor, [post.author]):
        inbox = author.inbox_url or author.shared_inbox_url
        if inbox:
            await deliveries.enqueue(activity, actor, [inbox])


async def liked(like: Like, actor: Actor, post: Post) -> None:
    await _to_author(documents.like_document(like, actor, post), actor, post)


async def unliked(like: Like, actor: Actor, post: Post) -> None:
    activity = documents.undo_document(actor, documents.like_document(like, actor, post))
    await _to_author(activity, actor, post)


async def _boost_audience(actor: Actor, post: Post) -> list[Actor]:
    """The booster's remote followers and a remote post's author."""
    return await _unblocked(actor, [*await remote_followers(actor), post.author])


async def boosted(boost: Boost, actor: Actor, post: Post) -> None:
    activity = documents.announce_document(boost, actor, post)
    await _send(activity, actor, await _boost_audience(actor, post))


async def unboosted(boost: Boost, actor: Actor, post: Post) -> None:
    activity = documents.undo_document(actor, documents.announce_document(boost, actor, post))
    await _send(activity, actor, await _boost_audience(actor, post))
