"""Moderation of a group's posts by its owners and moderators: remove a post, pin it to the
top of the group's page, lock a thread so it takes no new replies.

Each is announced by the group to its members' servers in the same transaction (a removal
as the group's Delete, a pin as Add/Remove on its featured collection, a lock as Lock or
its Undo, as Lemmy does); doing it again when nothing changes announces nothing."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from fediverse_intranet.errors import InvalidInput, NotFound
from fediverse_intranet.models import Actor, Attachment, Group, Post
from fediverse_intranet.services import fanout, media, memberships, posts
from fediverse_intranet.services.clock import now

MAX_PINNED = 5


async def _group_post(group: Group, by: Actor, post_id: int) -> Post:
    """A live post of this group, after checking ``by`` moderates it."""
    await memberships.require_moderator(group, by)
    post = (
        await Post.filter(id=post_id, group_id=group.id, deleted_at=None)
        .select_related("author")
        .first()
    )
    if post is None:
        raise NotFound("This post does not exist or you cannot see it.")
    return post


async def remove(group: Group, by: Actor, post_id: int) -> Post:
    """Take a post out of the group: erased as its author's delete would, replies kept."""
    post = await _group_post(group, by, post_id)
    files = [a.filename for a in await Attachment.filter(post=post) if a.filename]
    async with in_transaction():
        await fanout.post_deleting(post)
        await posts.erase(post)
    for name in files:
        media.remove(name)
    return post


async def set_pinned(group: Group, by: Actor, post_id: int, pinned: bool) -> Post:
    """Pin a thread's first post to the top of the group's page (a few at most)."""
    post = await _group_post(group, by, post_id)
    if pinned and post.in_reply_to_id is not None:
        raise InvalidInput("Only the first post of a thread can be pinned.")
    if pinned and post.pinned_at is None:
        pinned_now = Post.filter(group_id=group.id, pinned_at__not_isnull=True, deleted_at=None)
        if await pinned_now.count() >= MAX_PINNED:
            raise InvalidInput(
                "At most %(max)s posts can be pinned. Unpin one first.", max=MAX_PINNED
            )
    if (post.pinned_at is not None) == pinned:
        return post  # nothing changes: nothing to announce
    async with in_transaction():
        post.pinned_at = now() if pinned else None
        await post.save(update_fields=["pinned_at"])
        await fanout.group_moderated(post, by, "featured", pinned)
    return post


async def set_locked(group: Group, by: Actor, post_id: int, locked: bool) -> Post:
    """Lock a thread (at its first post): nobody replies anywhere in it until unlocked."""
    post = await _group_post(group, by, post_id)
    root = post
    if post.thread_root_id is not None:
        root = await _group_post(group, by, post.thread_root_id)
    if (root.locked_at is not None) == locked:
        return root
    async with in_transaction():
        root.locked_at = now() if locked else None
        await root.save(update_fields=["locked_at"])
        await fanout.group_moderated(root, by, "lock", locked)
    return root
