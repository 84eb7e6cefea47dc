"""Every id and URL of ours, in one module: the shapes peers store and must never change.

Mastodon's paths, so peers that guess paths guess right: ``/users/{name}`` with ``/inbox``,
``/outbox``, ``/followers``, ``/following``, ``/collections/featured`` and
``/collections/tags`` under it; ``/inbox`` is the shared inbox; ``/actor`` the instance
actor. Services, the outbox, the inbox and the web all read ids from here, so a shape is
written once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from fediverse_intranet import instance
from fediverse_intranet.models import Actor, Boost, Like


@dataclass(frozen=True)
class Endpoints:
    """The URLs of a local actor's collections and pages."""

    inbox: str
    outbox: str
    followers: str
    following: str
    featured: str
    featured_tags: str
    shared_inbox: str
    profile: str


def base_url() -> str:
    return instance.current().base_url


INSTANCE_ACTOR_PATH = "/actor"
SHARED_INBOX_PATH = "/inbox"
DIRECTORY_PATH = "/directory"  # our directory of people who consent to be found (FEP-5feb)


def instance_actor_uri() -> str:
    """The instance actor's id: it signs our fetches and reads other servers' directories."""
    return f"{base_url()}{INSTANCE_ACTOR_PATH}"


def shared_inbox() -> str:
    return f"{base_url()}{SHARED_INBOX_PATH}"


def directory_url() -> str:
    return f"{base_url()}{DIRECTORY_PATH}"


def webfinger_template() -> str:
    """The LRDD template host-meta gives old clients (RFC 6415): ``{uri}`` is theirs to fill."""
    return f"{base_url()}/.well-known/webfinger?resource={{uri}}"


def token_link(kind: str, token: str) -> str:
    """A link an admin hands someone: an invitation (``invite``) or a password reset (``reset``)."""
    return f"{base_url()}/{kind}/{token}"


def actor_uri(username: str) -> str:
    """A local person's or group's actor id (the same path for both)."""
    return f"{base_url()}/users/{username}"


def post_uri(post_id: int) -> str:
    return f"{base_url()}/posts/{post_id}"


def tag_path(tag: str) -> str:
    """A topic's page on this instance, as our pages link it (in stored remote HTML too)."""
    return f"/tags/{tag}"


def tag_url(tag: str) -> str:
    return f"{base_url()}{tag_path(tag)}"


def profile_page(actor: Actor) -> str:
    """Where a person's profile is read: ours at ``/@name``, anyone else's at their id."""
    return f"{base_url()}/@{actor.username}" if actor.is_local else actor.uri


def key_id(actor: Actor) -> str:
    return f"{actor.uri}#main-key"


def endpoints(actor: Actor) -> Endpoints:
    uri = actor.uri
    return Endpoints(
        inbox=f"{uri}/inbox",
        outbox=f"{uri}/outbox",
        followers=followers_of(actor),
        following=f"{uri}/following",
        featured=f"{uri}/collections/featured",
        featured_tags=f"{uri}/collections/tags",
        shared_inbox=shared_inbox(),
        profile=profile_page(actor),
    )


def followers_of(actor: Actor) -> str:
    """The followers collection of a local person or group (the same path for both)."""
    return f"{actor.uri}/followers"


def moderators_url(group: Actor) -> str:
    """A local group's moderators collection (its ``attributedTo``, as Lemmy names it)."""
    return f"{group.uri}/moderators"


def group_page(group: Actor) -> str:
    return f"{base_url()}/groups/{group.username}"


def media_url(filename: str) -> str:
    return f"{base_url()}/media/{filename}"


def remote_emoji_path(media_id: int) -> str:
    return f"/remote-emoji/{media_id}"


def like_uri(like: Like, actor: Actor) -> str:
    """The id of a saved Like's activity, kept on the row (``Like.uri``)."""
    return f"{actor.uri}#likes/{like.id}"


def boost_uri(boost: Boost, actor: Actor) -> str:
    return f"{actor.uri}#boosts/{boost.id}"


# Activity ids. Peers drop an id they saw before, so an id that must be new each time carries
# the moment to the millisecond; one that must be the same for the same change does not.


def status_id(actor: Actor) -> str:
    """The id of a person's current presence as an FEP-82f6 status: the same presence, note
    and end time give the same id, so the document and the Create sent agree."""
    until = actor.presence_until.isoformat() if actor.presence_until else ""
    digest = hashlib.sha256(f"{actor.presence}|{actor.presence_note}|{until}".encode())
    return f"{actor.uri}#status-{digest.hexdigest()[:16]}"


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def update_id(actor: Actor, moment: datetime) -> str:
    """An Update of an actor's own document (a profile saved, a group's settings)."""
    return f"{actor.uri}#updates/{millis(moment)}"


def status_activity_id(actor: Actor, moment: datetime, *, removed: bool = False) -> str:
    """A Create (or Remove, when cleared) of a person's FEP-82f6 status."""
    return f"{actor.uri}#statuses/{millis(moment)}" + ("/remove" if removed else "")


def cleared_status_id(actor: Actor) -> str:
    """The status a clear removes when the one shown before is not known."""
    return f"{actor.uri}#status"


def moderation_id(post_uri: str, kind: str, moment: datetime) -> str:
    """A moderator's Add, Remove or Lock of a thread (``kind``: ``add``, ``remove``, ``lock``)."""
    return f"{post_uri}#{kind}/{millis(moment)}"


def removal_id(post_uri: str) -> str:
    """A group's Delete of someone else's post in it (a moderator removed it)."""
    return f"{post_uri}#removed"


def ban_id(group: Actor, person: Actor, moment: datetime) -> str:
    return f"{group.uri}/bans/{person.id}/{millis(moment)}"


def group_announce_id(group: Actor, activity_id: str) -> str:
    """One id per activity a group passes on, so announcing it again queues nothing new."""
    digest = hashlib.sha256(activity_id.encode()).hexdigest()[:32]
    return f"{group.uri}/announces/{digest}"


def group_boost_id(group: Actor, post_id: int) -> str:
    """An open group's plain Announce of a new post (shown by Mastodon as a boost)."""
    return f"{group.uri}/boosts/{post_id}"


def follow_id(follower: Actor, suffix: str) -> str:
    """A Follow of ours (``suffix``: a random token, or what names a lost one)."""
    return f"{follower.uri}#follows/{suffix}"


def join_id(person: Actor, token: str) -> str:
    """A Follow of a group elsewhere: one of ours asking to join."""
    return f"{person.uri}#joins/{token}"
