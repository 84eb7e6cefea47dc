"""Groups across servers in the inbox (FEP-1b12): joins, posts and their changes sent to a
group of ours, and what a group elsewhere announces to us.

For a group of ours, the sender is the member (their signature was checked): a Follow is a
join request, answered by the group; a post, an edit, a deletion or a like is taken under
the group's rules (``services.remote_groups``) and then announced by the group, unchanged,
to its members' servers.

From a group elsewhere, only its own Announce counts (the inbox checked that the group
signed it), and only when someone here is a member. The group vouches that it received an
activity, not for what it says: a post is believed when the group's own server wrote it,
and is otherwise fetched from its origin and must be by the activity's actor. Moderation
(a removal, a ban, a lock, a pin, a changed group) counts when its actor is the group, its
server or one of its moderators. Anything else is ignored with the reason, changing nothing.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from activitypub.origin import same_origin
from activitypub.parse_activity import Activity, ObjectRef
from activitypub.parse_object import RemoteObject
from fediverse_intranet.errors import DomainError
from fediverse_intranet.models import (
    Actor,
    Group,
    GroupAccess,
    MemberRole,
    Membership,
    MemberState,
    Post,
)
from fediverse_intranet.services import (
    fanout,
    keys,
    memberships,
    posts,
    remote_actors,
    remote_groups,
    remote_interactions,
    remote_posts,
)
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import RemoteActorError, is_local_uri
from inbox.handlers import HandlerError, Ignored, Inbound, taken

# --- a group of ours ---------------------------------------------------------------------


async def follow(inbound: Inbound, group: Group) -> None:
    """A remote person asks to join; the group answers with Accept, Reject or (closed
    groups) nothing until a moderator decides."""
    person = inbound.sender
    if person.is_local or person.is_group:
        raise Ignored("only people elsewhere join through the inbox")
    if not person.inbox_url:
        raise Ignored("the follower has no inbox to answer")
    await keys.ensure_keys(group.actor)  # before the transaction: it may make a key (50 ms)
    async with in_transaction():
        answer = await remote_groups.join_from_remote(group, person, inbound.activity.id)
        # A secret group says nothing to someone not invited: it does not exist for them.
        silent = answer.accepted is False and group.access == GroupAccess.SECRET
        if answer.accepted is not None and not silent:
            await fanout.group_answer(group, person, inbound.activity.id, answer.accepted)
    if answer.accepted is False:
        raise Ignored(f"refused: {answer.reason}")


async def undo_follow(inbound: Inbound, group: Group) -> None:
    try:
        change = await memberships.leave(group, inbound.sender)
    except DomainError as exc:
        raise Ignored(exc.message) from None
    if not change.changed:
        raise Ignored("not in the group")


async def create(inbound: Inbound, group: Group, post: RemoteObject) -> None:
    """A member's post into a group of ours: stored, then announced by the group."""
    with taken():
        stored = await remote_groups.take_post(group, post, inbound.sender)
    async with in_transaction():
        await fanout.group_announce(group, inbound.activity.raw, stored)


async def announce_change(inbound: Inbound, post: Post | None) -> None:
    """After an edit, deletion or like of a post in a group of ours was applied, the group
    passes the activity on to its members' servers."""
    if post is None or post.group_id is None:
        return
    group = await Group.filter(id=post.group_id).select_related("actor").first()
    if group is not None and group.actor.is_local:
        await announce_change_in(inbound, group)


async def announce_change_in(inbound: Inbound, group: Group) -> None:
    async with in_transaction():
        await fanout.group_announce(group, inbound.activity.raw)


async def moderator_delete(inbound: Inbound, uri: str) -> bool:
    """A moderator of a group of ours (on another server) removes a post in it."""
    post = await Post.filter(uri=uri, deleted_at=None, group_id__not_isnull=True).first()
    if post is None:
        return False
    group = await Group.filter(id=post.group_id).select_related("actor").first()
    if group is None or not group.actor.is_local:
        return False
    if not await memberships.can_moderate(group, inbound.sender):
        return False
    async with in_transaction():
        await posts.erase(post)
        await fanout.group_announce(group, inbound.activity.raw)
    return True


# --- a group elsewhere -------------------------------------------------------------------


async def announced(inbound: Inbound, group: Group) -> None:
    """An Announce by a group elsewhere that people here belong to, or a ban (or its end)
    of one of ours, who may have been the last member here."""
    ref = inbound.activity.object
    if (
        not _is_ban(ref)
        and not await Membership.filter(
            group_id=group.id, state=MemberState.MEMBER, actor__domain=""
        ).exists()
    ):
        raise Ignored("nobody here is a member of this group")
    if ref is None:
        raise Ignored("nothing announced")
    inner = ref.activity
    if inner is None:  # a plain Announce of a post, as Mastodon reads groups
        post, author = await _verified_post(group, ref, None)
        await _store(group, post, author)
        return
    if not same_origin(inner.id, inner.actor):
        raise Ignored("the announced activity's id is not on its actor's server")
    handler = _ANNOUNCED.get(inner.type)
    if handler is None:
        raise Ignored(f"an announced {inner.type} is not handled")
    await handler(group, inner)


def _is_ban(ref: ObjectRef | None) -> bool:
    inner = ref.activity if ref is not None else None
    if inner is None:
        return False
    if inner.type == "Undo":
        undone = inner.object.activity if inner.object else None
        return undone is not None and undone.type == "Block"
    return inner.type == "Block"


async def _verified_post(
    group: Group, ref: ObjectRef | None, actor_uri: str | None
) -> tuple[RemoteObject, Actor]:
    """The announced post, believed only from its origin: embedded copies count when the
    group's own server wrote them, others are fetched. It must be the actor's and have been
    sent to the group."""
    if ref is None or ref.id is None:
        raise Ignored("no post")
    if is_local_uri(ref.id):
        raise Ignored("our own post, announced back to us")
    embedded = ref.post
    with taken():
        if (
            embedded is not None
            and same_origin(embedded.attributed_to, group.actor.uri)
            and same_origin(embedded.id, embedded.attributed_to)
        ):
            post, author = embedded, await remote_posts.author_of(embedded)
        else:  # the group cannot speak for an author on another server
            post, author = await remote_posts.fetch(ref.id)
    if actor_uri is not None and post.attributed_to != actor_uri:
        raise Ignored("the post is not by the announced activity's actor")
    if not remote_groups.received_by(group, post):
        raise Ignored("the group did not receive this post")
    return post, author


async def _store(group: Group, post: RemoteObject, author: Actor) -> None:
    with taken():
        remote_groups.check_addressing(group, post)
        stored = await remote_posts.store(post, author, group=group)
    # The post may have reached us directly first (we follow its author): then the group's
    # Announce puts it in the group, whichever came first.
    if stored is None or not await remote_groups.attach_post(group, stored, author):
        raise Ignored("a post with this id is stored already, outside this group")


async def _create(group: Group, inner: Activity) -> None:
    post, author = await _verified_post(group, inner.object, inner.actor)
    await _store(group, post, author)


async def _update(group: Group, inner: Activity) -> None:
    ref = inner.object
    if ref is not None and ref.person is not None:
        await _update_group(group, inner)
        return
    post, author = await _verified_post(group, ref, inner.actor)
    if not await Post.filter(uri=post.id, group_id=group.id).exists():
        await _store(group, post, author)  # an edit of a post we missed: take it whole
        return
    with taken():
        await remote_posts.update(post, author)


async def _update_group(group: Group, inner: Activity) -> None:
    document = inner.object.person if inner.object else None
    if document is None or document.id != group.actor.uri:
        raise Ignored("an update of another actor than the group")
    if not await remote_groups.speaks_for(group, inner.actor):
        raise Ignored("an update of the group by someone who is not its moderator")
    try:
        actor, document = await remote_actors.update_from_document(document, group.actor)
    except RemoteActorError as exc:
        raise Ignored(exc.reason) from None
    await remote_groups.adopt(actor, document)


async def _group_post(group: Group, uri: str | None) -> Post:
    post = await Post.filter(uri=uri, group_id=group.id).first() if uri else None
    if post is None:
        raise Ignored("no such post in this group here")
    return post


async def _delete(group: Group, inner: Activity) -> None:
    """The author's deletion, or a moderator's removal, of a post in the group; posts of
    our own people are removed only here."""
    post = await _group_post(group, inner.object.id if inner.object else None)
    await post.fetch_related("author")
    if post.author.is_local:
        raise Ignored("our own people's posts are removed here, not by another server")
    if post.is_deleted:
        return
    if post.author.uri != inner.actor and not await remote_groups.speaks_for(group, inner.actor):
        raise Ignored("a removal by someone who is neither the author nor a moderator")
    async with in_transaction():
        await posts.erase(post)


async def _like(group: Group, inner: Activity) -> None:
    post = await _group_post(group, inner.object.id if inner.object else None)
    liker = await _actor(inner.actor)
    with taken():
        await remote_interactions.like(liker, post, inner.id)


async def _undo(group: Group, inner: Activity) -> None:
    undone = inner.object.activity if inner.object else None
    kind = undone.type if undone is not None else (inner.object.type if inner.object else None)
    if kind == "Like":
        liker = await _actor(inner.actor)
        uri = inner.object.id if inner.object else None
        if not await remote_interactions.unlike(liker, uri=uri):
            raise Ignored("no such like")
    elif kind == "Block" and undone is not None:
        await _ban(group, undone, lift=True)
    elif kind == "Lock" and undone is not None:
        await _lock(group, undone, lift=True)
    else:
        raise Ignored(f"an announced Undo of {kind or 'something unknown'} is not handled")


async def _block(group: Group, inner: Activity) -> None:
    await _ban(group, inner, lift=False)


async def _ban(group: Group, inner: Activity, *, lift: bool) -> None:
    """A ban from the group (Lemmy: Block with the group as target) of one of ours."""
    if inner.target is not None and inner.target != group.actor.uri:
        raise Ignored("a ban from another group")
    if not await remote_groups.speaks_for(group, inner.actor):
        raise Ignored("a ban by someone who is not a moderator")
    target = inner.object.id if inner.object else None
    person = await Actor.filter(uri=target, domain="").first() if target else None
    if person is None:
        return  # a ban of someone elsewhere: their server hears of it; nothing here
    row = await memberships.membership(group, person)
    if lift:
        if row is not None and row.state == MemberState.BANNED:
            await row.delete()
        return
    if row is None:
        await Membership.create(group=group, actor=person, state=MemberState.BANNED)
    elif row.state != MemberState.BANNED:
        row.state = MemberState.BANNED
        await row.save(update_fields=["state", "updated_at"])


async def _lock(group: Group, inner: Activity, *, lift: bool = False) -> None:
    if not await remote_groups.speaks_for(group, inner.actor):
        raise Ignored("a lock by someone who is not a moderator")
    post = await _group_post(group, inner.object.id if inner.object else None)
    await Post.filter(id=post.id).update(locked_at=None if lift else now())


async def _collection(group: Group, inner: Activity, *, add: bool) -> None:
    """Add/Remove on the group's featured collection (pin) or moderators (role)."""
    if not await remote_groups.speaks_for(group, inner.actor):
        raise Ignored("a change of the group by someone who is not its moderator")
    target, uri = inner.target or "", inner.object.id if inner.object else None
    if target.rstrip("/").endswith("/featured"):
        post = await _group_post(group, uri)
        await Post.filter(id=post.id).update(pinned_at=now() if add else None)
        return
    if target.rstrip("/").endswith("/moderators"):
        role = MemberRole.MODERATOR if add else MemberRole.MEMBER
        await Membership.filter(
            group_id=group.id, actor__uri=uri, actor__domain="", state=MemberState.MEMBER
        ).update(role=role)
        return
    raise Ignored("an Add or Remove of an unknown collection")


async def _add(group: Group, inner: Activity) -> None:
    await _collection(group, inner, add=True)


async def _remove(group: Group, inner: Activity) -> None:
    await _collection(group, inner, add=False)


async def _actor(uri: str) -> Actor:
    try:
        return await remote_actors.resolve_actor(uri)
    except RemoteActorError as exc:
        raise HandlerError(exc.reason, retry=exc.retry) from None


_ANNOUNCED = {
    "Create": _create,
    "Update": _update,
    "Delete": _delete,
    "Like": _like,
    "Undo": _undo,
    "Block": _block,
    "Lock": _lock,
    "Add": _add,
    "Remove": _remove,
}
