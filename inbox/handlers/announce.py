"""Announce (a boost) and its Undo.

A boost of a post of ours is recorded and its author told. A boost of a post elsewhere
matters when someone here follows the booster (their home timeline shows it), or when it is
for someone here: the Announce is addressed to them or came to their own inbox (Mastodon's
``addresses_local_accounts?``), or the boosted post addresses or mentions them (it is then
in their home timeline as any post that names them). The object may be the post (by id or
embedded, a Note or any post type) or an embedded ``Create`` of it. The post is believed as
Mastodon believes it: an embedded copy whose id and author are on the booster's own server
(the server whose key signed the Announce speaks for itself), else the copy its origin
serves (``remote_posts.fetch``). Only a public post's boost is kept.

An Announce by a group that people here belong to is the group passing on its members'
activities (FEP-1b12): ``inbox.handlers.group.announced``.
"""

from __future__ import annotations

from activitypub.origin import same_origin
from activitypub.parse_activity import ObjectRef
from activitypub.parse_object import RemoteObject
from fediverse_intranet.models import Actor, Follow, Post
from fediverse_intranet.services import (
    remote_groups,
    remote_interactions,
    remote_posts,
    remote_threads,
)
from fediverse_intranet.services.remote_actors import is_local_uri
from inbox.handlers import Ignored, Inbound, taken, undo_own
from inbox.handlers import group as group_handlers


async def handle_announce(inbound: Inbound) -> None:
    ref, sender = inbound.activity.object, inbound.sender
    group = await remote_groups.remote_group_of(sender)
    if group is not None:  # FEP-1b12: a group passing on what its members did
        await group_handlers.announced(inbound, group)
        return
    boosted = _boosted(ref)[0] if ref is not None else None
    if ref is None or boosted is None:
        raise Ignored("nothing boosted")
    with taken():
        if is_local_uri(boosted):
            post = await Post.filter(uri=boosted, deleted_at=None).first()
            if post is None:
                raise Ignored("no such post here")
        else:
            post = await _remote_post(inbound, ref, sender)
        await remote_interactions.boost(sender, post, inbound.activity.id)


async def handle_undo_announce(inbound: Inbound) -> None:
    await undo_own(inbound, "boost", remote_interactions.unboost)


async def _remote_post(inbound: Inbound, ref: ObjectRef, booster: Actor) -> Post:
    post_id, embedded = _boosted(ref)
    if post_id is None:
        raise Ignored("nothing boosted")
    followed = await Follow.filter(followee=booster, follower__domain="", accepted=True).exists()
    for_us = followed or await _addressed_here(inbound)
    if not for_us and not (embedded is not None and await _names_someone_here(embedded)):
        # Not fetched at all: a boost nobody here asked for costs one query.
        raise Ignored("nobody here follows the booster or is addressed")
    stored = await Post.filter(uri=post_id, deleted_at=None).first()
    if stored is not None:
        return stored
    if embedded is not None and embedded.id == post_id and _vouched(embedded, booster):
        post, author = embedded, await remote_posts.author_of(embedded)
    else:
        post, author = await remote_posts.fetch(post_id)
    stored = await remote_posts.store(post, author, wanted=for_us)
    if stored is None:  # the post's own copy names nobody here (the embedded one lied)
        raise Ignored("concerns nobody here")
    await remote_threads.fetch_context(stored)
    return stored


def _boosted(ref: ObjectRef) -> tuple[str | None, RemoteObject | None]:
    """The boosted post's id and its embedded copy (if any): the object itself, or the
    post of an embedded Create (whose own actor is not believed: nobody signed it)."""
    if ref.type == "Create":
        inner = ref.activity.object if ref.activity is not None else None
        if inner is None:
            return ref.object, None
        return inner.id, inner.post
    return ref.id, ref.post


def _vouched(post: RemoteObject, booster: Actor) -> bool:
    """An embedded post the booster's server speaks for: its id and author on that server."""
    return same_origin(post.id, booster.uri) and same_origin(post.attributed_to, booster.uri)


async def _addressed_here(inbound: Inbound) -> bool:
    """The Announce came to a person's own inbox, or names a person here in ``to``/``cc``."""
    if inbound.recipient is not None and not inbound.recipient.is_group:
        return True
    local = await remote_posts.local_actors(inbound.activity.recipients)
    return any(not actor.is_group for actor in local)


async def _names_someone_here(post: RemoteObject) -> bool:
    """The embedded copy claims to address or mention a person here: worth fetching the
    real one (``store`` decides again on what is believed)."""
    local = await remote_posts.local_actors([*post.recipients, *(m.href for m in post.mentions)])
    return any(not actor.is_group for actor in local)
