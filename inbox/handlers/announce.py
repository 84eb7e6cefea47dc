"""Announce (a boost) and its Undo.

A boost of a post of ours is recorded and its author told. A boost of a post elsewhere
matters only when someone here follows the booster (their home timeline shows it): the
post is then stored, believed as a Create is (``post.authored_post`` rules: the booster's
own embedded post, else a copy fetched from its origin), and must be public.

An Announce by a group that people here belong to is the group passing on its members'
activities (FEP-1b12): ``inbox.handlers.group.announced``.
"""

from __future__ import annotations

from activitypub.origin import same_origin
from activitypub.parse_activity import ObjectRef
from fediverse_intranet.models import Actor, Follow, Post
from fediverse_intranet.services import remote_groups, remote_interactions, remote_posts
from fediverse_intranet.services.remote_actors import is_local_uri
from inbox.handlers import Ignored, Inbound, taken, undo_own
from inbox.handlers import group as group_handlers


async def handle_announce(inbound: Inbound) -> None:
    ref, sender = inbound.activity.object, inbound.sender
    group = await remote_groups.remote_group_of(sender)
    if group is not None:  # FEP-1b12: a group passing on what its members did
        await group_handlers.announced(inbound, group)
        return
    if ref is None or ref.id is None:
        raise Ignored("nothing boosted")
    with taken():
        if is_local_uri(ref.id):
            post = await Post.filter(uri=ref.id, deleted_at=None).first()
            if post is None:
                raise Ignored("no such post here")
        else:
            post = await _remote_post(ref, sender)
        await remote_interactions.boost(sender, post, inbound.activity.id)


async def handle_undo_announce(inbound: Inbound) -> None:
    await undo_own(inbound, "boost", remote_interactions.unboost)


async def _remote_post(ref: ObjectRef, booster: Actor) -> Post:
    assert ref.id is not None
    if not await Follow.filter(followee=booster, follower__domain="", accepted=True).exists():
        raise Ignored("nobody here follows the booster")
    stored = await Post.filter(uri=ref.id, deleted_at=None).first()
    if stored is not None:
        return stored
    embedded = ref.post
    if embedded is not None and embedded.attributed_to == booster.uri:
        if not same_origin(embedded.id, booster.uri):
            raise Ignored("the post's id is not on the booster's server")
        post, author = embedded, booster
    else:
        post, author = await remote_posts.fetch(ref.id)
    stored = await remote_posts.store(post, author, wanted=True)
    if stored is None:  # cannot happen for a wanted post; said for the type checker
        raise Ignored("the post could not be stored")
    return stored
