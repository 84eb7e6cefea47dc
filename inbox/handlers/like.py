"""Like and Undo{Like}: a remote person appreciates a post of ours, or takes it back."""

from __future__ import annotations

from fediverse_intranet.models import Group, Post
from fediverse_intranet.services import remote_groups, remote_interactions
from fediverse_intranet.services.remote_actors import is_local_uri
from inbox.handlers import Ignored, Inbound, taken, undo_own
from inbox.handlers import group as group_handlers


async def handle_like(inbound: Inbound) -> None:
    """A like of a post of ours, or of any post in a group of ours (which the group then
    passes on to its members' servers)."""
    ref = inbound.activity.object
    uri = ref.id if ref is not None else None
    post = await Post.filter(uri=uri, deleted_at=None).first() if uri else None
    in_our_group = post is not None and await _in_local_group(post)
    if uri is None or not (is_local_uri(uri) or in_our_group):
        raise Ignored("not a like of a post here")
    if post is None:
        raise Ignored("no such post here")
    with taken():
        if not await remote_interactions.like(inbound.sender, post, inbound.activity.id):
            raise Ignored("liked already")
    await group_handlers.announce_change(inbound, post)


async def handle_undo_like(inbound: Inbound) -> None:
    await undo_own(inbound, "like", remote_interactions.unlike)
    activity = inbound.activity
    group = await remote_groups.local_group_among([*activity.audience, *activity.recipients])
    if group is not None:
        await group_handlers.announce_change_in(inbound, group)


async def _in_local_group(post: Post) -> bool:
    return (
        post.group_id is not None
        and await Group.filter(id=post.group_id, actor__domain="").exists()
    )
