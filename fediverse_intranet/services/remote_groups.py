"""Groups across servers (FEP-1b12, as Lemmy federates communities).

Two halves, each with its rules here and its activities in ``services.fanout``:

- **Our groups, joined from elsewhere.** A remote person's ``Follow`` of a group here is a
  join through ``services.memberships`` (open: member at once; closed: a request for the
  moderators; secret: by invitation only; banned or archived: refused), answered by the
  group with ``Accept`` or ``Reject``. A member's post sent to the group is stored as a
  group post and announced by the group, unchanged, to the servers of its members.
- **Groups elsewhere, joined from here.** A person finds a remote group by handle or
  address, joins it (``Follow`` from the person, a pending membership until the group's
  ``Accept``), and leaves it (``Undo``). What the group announces is taken only from the
  group itself, and a post only when it is verifiable at its own origin: a group can vouch
  that it received a post, never for what the post says.

Nothing of a closed or secret group leaves the servers of its members: its posts are
addressed to the group's followers and never to the public, and deliveries go to members'
servers only.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from tortoise.transactions import in_transaction

from activitypub.fetch import FetchError
from activitypub.origin import same_origin
from activitypub.parse_actor import RemoteActor
from activitypub.parse_object import RemoteObject, is_public
from fediverse_intranet import instance, urls
from fediverse_intranet.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unreachable,
)
from fediverse_intranet.models import (
    Actor,
    Group,
    GroupAccess,
    Membership,
    MemberState,
    Post,
    Visibility,
)
from fediverse_intranet.services import (
    fanout,
    federation_policy,
    memberships,
    remote_actors,
    remote_client,
    remote_people,
    remote_posts,
    visibility,
)
from fediverse_intranet.services import groups as group_rules
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import RemoteActorError, is_local_uri
from fediverse_intranet.services.remote_posts import NotTaken

log = logging.getLogger(__name__)

GROUP_KIND = group_rules.GROUP_KIND
VOUCH_MEMORY = 300.0  # seconds a group's word on a server's membership is kept
_vouched: dict[tuple[str, str], tuple[float, bool]] = {}
MAX_MODERATORS = 200  # entries read from a remote moderators collection


# --- groups of this instance -------------------------------------------------------------


async def local_group(uri: str | None) -> Group | None:
    """The group of this instance with this actor id, or None."""
    if not uri or not is_local_uri(uri):
        return None
    return await Group.filter(actor__uri=uri, actor__domain="").select_related("actor").first()


async def local_group_among(uris: Iterable[str], local: list[Actor] | None = None) -> Group | None:
    """The first group of ours among addresses (``audience``, ``to``, ``cc``, mentions).

    ``local``: the local actors among them as ``remote_posts.local_actors`` gave them, when
    the caller asked already; most posts are sent to no group, and that answers it."""
    ours = [u for u in dict.fromkeys(uris) if is_local_uri(u)]
    if not ours:
        return None
    if local is None:
        local = await remote_posts.local_actors(ours)
    if not any(actor.is_group for actor in local):
        return None
    found = await Group.filter(actor__uri__in=ours, actor__domain="").select_related("actor")
    by_uri = {group.actor.uri: group for group in found}
    return next((by_uri[u] for u in ours if u in by_uri), None)


@dataclass(frozen=True)
class JoinAnswer:
    """How a remote person's Follow of a group here was answered: ``accepted`` True (member),
    False (refused, with ``reason``) or None (waiting for a moderator)."""

    accepted: bool | None
    reason: str = ""
    first_from_server: bool = False  # the first of their server to ask (closed groups)


async def join_from_remote(group: Group, person: Actor, follow_uri: str) -> JoinAnswer:
    """A remote person asks to join (a Follow of the group actor)."""
    first = await first_from_server(group, person)
    try:
        change = await memberships.join(group, person, follow_uri=follow_uri)
    except DomainError as refusal:
        return JoinAnswer(False, refusal.message)
    if change.after == MemberState.MEMBER:
        return JoinAnswer(True)
    if first:
        # Everyone on that server could read along once one of them is in: moderators are
        # told on the request (``first_from_server``) and in the log.
        log.warning(
            "group %s: first request to join from %s (%s)",
            group.actor.username,
            person.domain,
            person.uri,
        )
    return JoinAnswer(None, first_from_server=first)


async def first_from_server(group: Group, person: Actor) -> bool:
    """Whether nobody of ``person``'s server is a member yet: letting them in lets that
    server's administrators read along, which a moderator should weigh (shown on requests)."""
    if person.is_local:
        return False
    return not await Membership.filter(
        group_id=group.id, state=MemberState.MEMBER, actor__domain=person.domain
    ).exists()


async def may_post(group: Group, author: Actor, parent: Post | None) -> None:
    """A post from elsewhere into a group here: only by a member, into a group that is not
    archived, not in a locked thread. Raises :class:`NotTaken` with the reason."""
    if group.archived_at is not None or await group_rules.archive_if_due(group):
        raise NotTaken("the group is archived: it is read-only")
    row = await memberships.membership(group, author)
    if row is None or row.state != MemberState.MEMBER:
        banned = row is not None and row.state == MemberState.BANNED
        raise NotTaken("the author is banned from the group" if banned else "not a member")
    if parent is not None:
        root = (
            await Post.filter(id=parent.thread_root_id).first() if parent.thread_root_id else None
        )
        if parent.locked_at is not None or (root is not None and root.locked_at is not None):
            raise NotTaken("the thread is locked")
        if parent.group_id != group.id:
            raise NotTaken("a reply in another group than its thread")


def check_addressing(group: Group, post: RemoteObject) -> None:
    """Lemmy's rule: a closed group's posts are never public, an open group's always are."""
    public = any(is_public(r) for r in post.recipients)
    if group.members_only and public:
        raise NotTaken("a post in a closed group must not be addressed to the public")
    if not group.members_only and not public:
        raise NotTaken("a post in an open group must be public")


async def take_post(group: Group, post: RemoteObject, author: Actor) -> Post:
    """Store a member's post into one of our groups (the caller announces it)."""
    check_addressing(group, post)
    parent = await Post.filter(uri=post.in_reply_to).first() if post.in_reply_to else None
    await may_post(group, author, parent)
    stored = await remote_posts.store(post, author, wanted=True, group=group)
    if stored is None or stored.group_id != group.id:
        raise NotTaken("a post with this id is stored already, outside this group")
    return stored


async def attach_post(group: Group, stored: Post, author: Actor) -> bool:
    """A member's post that reached us directly before its group elsewhere announced it was
    stored outside the group; the group's Announce (the caller verified it) puts it in.
    True when the post is (now) in ``group``; a post in another group, or not the
    author's, stays where it is."""
    if stored.group_id == group.id:
        return True
    if stored.group_id is not None or stored.author_id != author.id:
        return False
    seen_by = visibility.of_group_posts(group)
    await Post.filter(id=stored.id, group_id=None).update(group_id=group.id, visibility=seen_by)
    stored.group_id, stored.visibility = group.id, seen_by
    return True


async def group_vouches(group: Group, signer: Actor) -> bool:
    """Whether a group elsewhere says the signer's server has a member (its followers
    collection with ``?is_follower=``, asked with our instance actor's signature, as a
    member's server). The group's own server is believed about itself. Answers are kept
    a few minutes; a group that cannot be asked vouches for nobody."""
    if same_origin(signer.uri, group.actor.uri):
        return True
    if not group.actor.followers_url:
        return False
    key = (group.actor.uri, signer.domain)
    remembered = _vouched.get(key)
    if remembered is not None and time.monotonic() < remembered[0]:
        return remembered[1]
    url = f"{group.actor.followers_url}?is_follower={quote(signer.uri, safe='')}"
    try:
        answer = (await remote_client.signed_fetch(url)).document.get("isFollower") is True
    except FetchError as exc:
        log.info("group %s did not answer for %s: %s", group.actor.uri, signer.domain, exc)
        answer = False
    _vouched[key] = (time.monotonic() + VOUCH_MEMORY, answer)
    if len(_vouched) > 10_000:
        _vouched.pop(next(iter(_vouched)))
    return answer


# --- groups elsewhere --------------------------------------------------------------------


async def remote_group_of(actor: Actor) -> Group | None:
    """The stored group a remote actor is, or None."""
    if actor.is_local:
        return None
    return await Group.filter(actor_id=actor.id).select_related("actor").first()


async def adopt(actor: Actor, document: RemoteActor) -> Group:
    """Record a remote actor as a group: kind "group" and a Group row whose access follows
    ``manuallyApprovesFollowers`` (Lemmy's private communities: members only) and which is
    read-only while ``postingRestrictedToMods``."""
    if document.type != "Group" or document.id != actor.uri:
        raise InvalidInput("This is not a group.", field="q")
    access = GroupAccess.CLOSED if document.manually_approves_followers else GroupAccess.OPEN
    if actor.kind != GROUP_KIND:
        await Actor.filter(id=actor.id).update(kind=GROUP_KIND)
        actor.kind = GROUP_KIND
    group, created = await Group.get_or_create(actor=actor, defaults={"access": access})
    if not created and group.access != access:
        group.access = access
        await group.save(update_fields=["access"])
        if access == GroupAccess.CLOSED:
            await Post.filter(group_id=group.id).update(visibility=Visibility.MEMBERS)
    # Only its moderators post (an archived group of ours says so): read-only here too.
    if document.posting_restricted != (group.archived_at is not None):
        group.archived_at = now() if document.posting_restricted else None
        await group.save(update_fields=["archived_at"])
    group.actor = actor
    return group


async def fetch_group_document(uri: str) -> RemoteActor:
    """A remote group's actor document, read from its own server."""
    try:
        fetched = await remote_client.signed_fetch(uri)
        return remote_actors.read_actor(fetched.document, fetched.url)
    except FetchError as exc:
        raise RemoteActorError(str(exc), retry=exc.retry) from None


async def moderators_of(group: Group) -> set[str]:
    """The actor ids in a remote group's moderators collection (its ``attributedTo``), read
    from the group's server; empty when it cannot be had."""
    try:
        document = await fetch_group_document(group.actor.uri)
        if document.moderators is None:
            return set()
        fetched = await remote_client.signed_fetch(document.moderators)
    except (RemoteActorError, FetchError) as exc:
        log.info("no moderators of %s: %s", group.actor.uri, exc)
        return set()
    if fetched.document.get("id") != fetched.url:
        return set()
    items = fetched.document.get("orderedItems", fetched.document.get("items", []))
    if not isinstance(items, list):
        return set()
    found = set()
    for item in items[:MAX_MODERATORS]:
        value = item.get("id") if isinstance(item, dict) else item
        if isinstance(value, str):
            found.add(value)
    return found


async def speaks_for(group: Group, actor_uri: str) -> bool:
    """Whether a moderation activity by ``actor_uri`` counts for a remote group: the group
    itself, its server (administrators, as FEP-1b12 allows), or one of its moderators."""
    if actor_uri == group.actor.uri or same_origin(actor_uri, group.actor.uri):
        return True
    return actor_uri in await moderators_of(group)


def group_of_post(post: RemoteObject, activity_audience: Iterable[str] = ()) -> list[str]:
    """Every address that could name a post's group: ``audience`` first (FEP-1b12), then
    ``to``/``cc`` (Lemmy, Friendica) and mentions (Mastodon users mention the group)."""
    return [
        *activity_audience,
        *post.audience,
        *post.recipients,
        *(mention.href for mention in post.mentions),
    ]


def received_by(group: Group, post: RemoteObject) -> bool:
    """Whether a post was addressed to a group: what the group announces must be its own."""
    addresses = set(group_of_post(post))
    actor = group.actor
    named = {actor.uri, actor.followers_url}
    if actor.profile_url and same_origin(actor.profile_url, actor.uri):
        named.add(actor.profile_url)  # activitypub.bot mentions a group by its profile page
    return bool(addresses & (named - {""}))


async def find(text: str) -> Group:
    """The group a handle (``@omgevingswet@gov-a.example``) or address names, here or
    elsewhere; a remote one is fetched from its server and recorded as a group."""
    value = text.strip()
    user, _, host = value.removeprefix("@").partition("@")
    if host.lower() == instance.current().domain.lower():
        return await _local(user)
    actor = await remote_people.find(value)
    if actor.is_local:
        return await _local(actor.username)
    try:
        document = await fetch_group_document(actor.uri)
    except RemoteActorError as exc:
        log.info("cannot read group %s: %s", actor.uri, exc.reason)
        raise Unreachable(
            "%(host)s could not be reached or gave no usable answer. Try again later.",
            field=remote_people.FIELD,
            host=actor.domain,
        ) from None
    if document.type != "Group":
        raise InvalidInput("%(name)s is not a group.", field=remote_people.FIELD, name=value)
    return await adopt(actor, document)


async def _local(handle: str) -> Group:
    group = await group_rules.find(handle)
    if group is None or group.access == GroupAccess.SECRET:
        raise NotFound("This group does not exist or you cannot see it.", field="q")
    return group


async def join(person: Actor, group: Group) -> Membership:
    """One of ours asks to join a group elsewhere: pending until the group's Accept."""
    if group.actor.is_local:
        raise InvalidInput("This group is here: join it on its page.")
    if not await federation_policy.allows_url(group.actor.uri):
        raise PermissionDenied(
            "This instance does not federate with %(host)s.", host=group.actor.domain
        )
    async with in_transaction():
        row = await memberships.membership(group, person)
        if row is not None and row.state == MemberState.BANNED:
            raise PermissionDenied("You are banned from this group.")
        if row is not None and row.state in (MemberState.MEMBER, MemberState.PENDING):
            return row
        uri = urls.join_id(person, secrets.token_hex(8))
        if row is None:
            row = await Membership.create(
                group=group, actor=person, state=MemberState.PENDING, uri=uri
            )
        else:
            row.state, row.uri = MemberState.PENDING, uri
            await row.save(update_fields=["state", "uri", "updated_at"])
        await fanout.joining_group(row, person, group.actor)
    return row


async def leave(person: Actor, group: Group) -> None:
    """One of ours leaves a group elsewhere, or withdraws the request (a ban stays)."""
    async with in_transaction():
        row = await memberships.membership(group, person)
        if row is None or row.state == MemberState.BANNED:
            return
        await row.delete()
        await fanout.leaving_group(row, person, group.actor)


async def answered(
    group_actor: Actor, follow_id: str | None, person_uri: str | None
) -> Membership | None:
    """Which pending (or current) membership of ours in a remote group an Accept or Reject
    from that group answers: by the Follow's id, else by the person it names."""
    ours = Membership.filter(group__actor_id=group_actor.id, actor__domain="")
    row = await ours.filter(uri=follow_id).first() if follow_id else None
    if row is None and person_uri:
        row = await ours.filter(actor__uri=person_uri).first()
    return row
