"""What a document says, as plain values (URLs, HTML), before it is JSON: the ``*Doc``
dataclasses ``outbox.documents`` fills from the database, and how times are written.
The audience of a post is an :class:`Audience`, which has no "organisation" member on
purpose: an organisation-only post has no ActivityPub equivalent, so it cannot be written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Audience(StrEnum):
    """Who a post is addressed to, as Mastodon's to/cc express it."""

    PUBLIC = "public"
    FOLLOWERS = "followers"
    DIRECT = "direct"  # the mentioned people only
    MEMBERS = "members"  # a closed group's members: its followers collection, never public


@dataclass(frozen=True)
class Link:
    """A Mention or Hashtag: where it points and how it reads (``@user@host``, ``#topic``)."""

    href: str
    name: str


@dataclass(frozen=True)
class Image:
    url: str
    media_type: str
    description: str = ""
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Field:
    """A profile field (PropertyValue). ``value`` is HTML."""

    name: str
    value: str


@dataclass(frozen=True)
class StatusDoc:
    """An actor status (FEP-82f6): our presence, ``content`` its plain-text fallback."""

    id: str
    content: str
    published: datetime
    presence: str = ""  # office, elsewhere, busy, away ("" for a status of another kind)
    end_time: datetime | None = None


@dataclass(frozen=True)
class PersonDoc:
    """A person of this instance. ``summary`` is HTML; ``topics`` are expertise hashtags."""

    id: str
    username: str
    name: str
    summary: str
    url: str
    inbox: str
    outbox: str
    followers: str
    following: str
    featured: str
    featured_tags: str
    shared_inbox: str
    key_id: str
    public_key_pem: str
    published: datetime
    icon: Image | None = None
    fields: tuple[Field, ...] = ()
    topics: tuple[Link, ...] = ()  # names without "#"
    discoverable: bool = True
    indexable: bool = False
    suspended: bool = False
    status: StatusDoc | None = None


@dataclass(frozen=True)
class GroupDoc:
    """A group of this instance (FEP-1b12, as Lemmy serves a community): ``moderators`` is
    the collection named in ``attributedTo``; ``members_only`` makes it approve followers by
    hand (closed and secret groups, Lemmy's private communities)."""

    id: str
    username: str
    name: str
    summary: str
    url: str
    inbox: str
    outbox: str
    followers: str
    moderators: str
    featured: str
    shared_inbox: str
    key_id: str
    public_key_pem: str
    published: datetime
    members_only: bool = False
    discoverable: bool = True
    posting_restricted: bool = False  # an archived group takes no posts
    icon: Image | None = None
    topics: tuple[Link, ...] = ()  # names without "#"


@dataclass(frozen=True)
class ApplicationDoc:
    """The instance actor: signs fetches and server-level activities for the whole instance."""

    id: str
    username: str
    name: str
    summary: str
    url: str
    inbox: str
    outbox: str
    shared_inbox: str
    key_id: str
    public_key_pem: str


@dataclass(frozen=True)
class NoteDoc:
    """A post. ``article`` makes it an Article with ``name``; ``content`` is sanitised HTML."""

    id: str
    attributed_to: str
    followers: str  # the author's followers collection
    content: str
    published: datetime
    url: str
    audience: Audience
    article: bool = False
    name: str = ""
    language: str = ""
    updated: datetime | None = None
    in_reply_to: str | None = None
    mentions: tuple[Link, ...] = ()  # href is the actor id
    hashtags: tuple[Link, ...] = ()  # names without "#"
    attachments: tuple[Image, ...] = ()
    group: str | None = None  # FEP-1b12: the group it is posted in (its ``audience``)
    group_followers: str = ""  # that group's followers collection


def iso(moment: datetime) -> str:
    """UTC with whole seconds and a Z, the form Mastodon writes and every peer parses."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC already (never the machine's local time)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def embedded(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != "@context"}
