"""Every id and URL of ours, in one module: the shapes peers store and must never change.

Mastodon's paths, so peers that guess paths guess right: ``/users/{name}`` with ``/inbox``,
``/outbox``, ``/followers``, ``/following``, ``/collections/featured`` and
``/collections/tags`` under it; ``/inbox`` is the shared inbox; ``/actor`` the instance
actor. Services, the outbox, the inbox and the web all read ids from here, so a shape is
written once.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def endpoints(actor: Actor) -> Endpoints:
    uri = actor.uri
    return Endpoints(
        inbox=f"{uri}/inbox",
        outbox=f"{uri}/outbox",
        followers=followers_of(actor),
        following=f"{uri}/following",
        featured=f"{uri}/collections/featured",
        featured_tags=f"{uri}/collections/tags",
        shared_inbox=f"{base_url()}/inbox",
        profile=f"{base_url()}/@{actor.username}",
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


def like_uri(like: Like, actor: Actor) -> str:
    """The id of a saved Like's activity, kept on the row (``Like.uri``)."""
    return f"{actor.uri}#likes/{like.id}"


def boost_uri(boost: Boost, actor: Actor) -> str:
    return f"{actor.uri}#boosts/{boost.id}"
