"""Create, Update and Delete of a post (Note, Article, Question, Page) by its author.

Origin rules, as Mastodon keeps them: an embedded post is believed only when it is
attributed to the sender (whose signature we checked) and its id is on the sender's server.
A post the sender embeds but did not write, or names by id only, is fetched from its own
origin and must then be the sender's too. Updates and Deletes change only the sender's own
posts (``services.remote_posts`` checks the stored author); an Update naming its post by id
only is applied from what the origin serves now, and a Delete passed on by someone else
counts only when the origin says the post is gone (404, 410, Tombstone). Anything else is
ignored with its reason kept, and changes nothing. A stored reply to a post we do not have
has the posts above it fetched (``services.remote_threads``, bounded).

A post sent to a group of ours, and the edits and deletions of posts in one, go through
``inbox.handlers.group``: the group's rules, then the group's Announce to its members.
"""

from __future__ import annotations

from activitypub.origin import same_origin
from activitypub.parse_activity import ObjectRef
from activitypub.parse_object import NOTE_TYPES, RemoteObject
from fediverse_intranet.models import Actor, Group
from fediverse_intranet.services import remote_groups, remote_posts, remote_threads
from fediverse_intranet.services.remote_posts import NotTaken
from inbox.handlers import Ignored, Inbound, taken
from inbox.handlers import group as group_handlers


async def handle_create(inbound: Inbound) -> None:
    with taken():
        post = await authored_post(inbound.activity.object, inbound.sender)
    # The local people and groups it names, asked once: for its group, then its audience.
    local = await remote_posts.local_actors(
        remote_groups.group_of_post(post, inbound.activity.audience)
    )
    group = await _local_group(inbound, post, local)
    if group is not None:
        await group_handlers.create(inbound, group, post)
        return
    with taken():
        stored = await remote_posts.store(post, inbound.sender, local=local)
    if stored is None:
        raise Ignored("concerns nobody here")
    # The reply is stored; the posts above it that we lack are fetched so the thread shows.
    await remote_threads.fetch_context(stored)


async def _local_group(inbound: Inbound, post: RemoteObject, local: list[Actor]) -> Group | None:
    """The group of ours a post is sent to: named in ``audience``, ``to``/``cc`` or a
    mention (FEP-1b12, Lemmy, Mastodon users), or the group whose inbox it came to."""
    addresses = remote_groups.group_of_post(post, inbound.activity.audience)
    if inbound.recipient is not None and inbound.recipient.is_group:
        addresses.insert(0, inbound.recipient.uri)
        local = [*local, inbound.recipient]
    return await remote_groups.local_group_among(addresses, local)


async def handle_update(inbound: Inbound) -> None:
    ref, sender = inbound.activity.object, inbound.sender
    post = ref.post if ref is not None else None
    if post is None and ref is not None and ref.id is not None and _by_id_only(ref):
        # activitypub.bot names the edited post by its id: what its origin serves now is
        # the edit (Mastodon reads such an Update the same way).
        with taken():
            found = await remote_posts.fetch_current(ref.id)
        if found is None:
            raise Ignored("an update of a post that is gone at its origin")
        post = found[0]
    if post is None:
        raise Ignored("not an update of a post we can read")
    if post.attributed_to != sender.uri or not same_origin(post.id, sender.uri):
        raise Ignored("an update of a post that is not the sender's")
    with taken():
        stored = await remote_posts.update(post, sender)
    await group_handlers.announce_change(inbound, stored)


async def handle_delete(inbound: Inbound) -> None:
    ref = inbound.activity.object
    if ref is None or ref.id is None:
        raise Ignored("nothing to delete")
    if await group_handlers.moderator_delete(inbound, ref.id):
        return
    with taken():
        try:
            stored = await remote_posts.delete(ref.id, inbound.sender)
        except NotTaken as refused:
            # Not the author's own word (a Delete passed on by another server): believed
            # when the post's origin, asked with a signed GET, says it is gone.
            gone = await remote_posts.delete_if_gone(ref.id)
            if gone is None:
                raise refused from None
            stored = gone
    await group_handlers.announce_change(inbound, stored)


def _by_id_only(ref: ObjectRef) -> bool:
    """An object named by its id, with nothing else that could be read as a post (a bare
    URI, or an object of only ``id`` and ``type``, as JSON-LD compaction may leave it)."""
    if ref.embedded is None:
        return True
    if ref.type not in (None, *NOTE_TYPES):
        return False
    return set(ref.embedded) <= {"id", "type", "@context"}


async def authored_post(ref: ObjectRef | None, sender: Actor) -> RemoteObject:
    """The post the sender speaks of as its author, embedded or fetched from its origin."""
    if ref is None:
        raise Ignored("no object")
    embedded = ref.post
    if embedded is not None and embedded.attributed_to == sender.uri:
        if not same_origin(embedded.id, sender.uri):
            raise Ignored("the post's id is not on the sender's server")
        return embedded
    if ref.id is None or (embedded is None and ref.type not in (None, *NOTE_TYPES)):
        raise Ignored(f"{ref.type or 'this object'} is not a post we handle")
    # Not the sender's by its own word, or not embedded: believe only its origin.
    fetched, _ = await remote_posts.fetch(ref.id)
    if fetched.attributed_to != sender.uri:
        raise Ignored("the post is not attributed to the sender")
    return fetched
