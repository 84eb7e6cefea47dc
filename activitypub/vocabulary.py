"""ActivityStreams documents as Mastodon writes and reads them: built from plain values,
and parsed from untrusted JSON into typed values at the edge.

Building: the ``*Doc`` dataclasses hold what a document says, already as URLs and HTML; the
functions turn them into JSON-ready dicts with one JSON-LD context. Nothing here knows our
models: ``outbox.documents`` is the one place that fills these from the database. The
audience of a post is an :class:`Audience`, which has no "organisation" member on purpose:
an organisation-only post has no ActivityPub equivalent, so it cannot be written at all.

Parsing: :func:`parse_actor` reads an actor document from any server into a
:class:`RemoteActor`, accepting the shapes real servers send (a list of icons from PeerTube,
``url`` as a Link object, ``tag`` as one object, ``publicKey`` as a list, a key id without a
fragment from Hubzilla) and refusing, with :class:`VocabularyError`, what cannot be used.
Text from the remote side (``name``, ``summary``, field values) is returned as it came:
the caller sanitises HTML before it is stored or shown.

Serving: :func:`prefers_activity_json` decides from an ``Accept`` header whether a peer asks
for the ActivityStreams form of a URL that also has an HTML page.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .origin import same_origin
from .webfinger import is_activity_type

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The terms Mastodon defines inline (app/lib/activitypub/adapter.rb, CONTEXT_EXTENSION_MAP),
# plus schema:knowsAbout for expertise topics. Mastodon's "schema" prefix ends in "#": kept so,
# because every peer matches PropertyValue by that expansion. Inline, because peers such as
# Fedify load only the contexts they ship.
CONTEXT_TERMS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "knowsAbout": "schema:knowsAbout",
    # Lemmy's group terms (FEP-1b12 groups): who may post, and the group's moderators.
    "lemmy": "https://join-lemmy.org/ns#",
    "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
    "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
    # FEP-82f6 actor statuses (Smithereen's terms), and which presence a status stands for.
    "sm": "http://smithereen.software/ns#",
    "ActorStatus": "sm:ActorStatus",
    "status": {"@id": "sm:status", "@type": "@id"},
    "presence": "urn:fediverse-intranet:ns#presence",
}
CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, CONTEXT_TERMS]

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
MAX_URL = 2048
MAX_ITEMS = 100  # of keys, fields, tags or topics read from one remote document
MAX_STATUS = 500  # characters of a remote status read (FEP-82f6 asks for 100 at least)
# Our presences, with the plain-text fallback a status carries when it has no note of its own.
PRESENCE_TEXT = {
    "office": "In the office",
    "elsewhere": "Working elsewhere",
    "busy": "Busy",
    "away": "Away",
}
PRESENCES = frozenset(PRESENCE_TEXT)


class VocabularyError(ValueError):
    """A document that cannot be used; ``reason`` says why in words fit for a log or a 4xx."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Audience(StrEnum):
    """Who a post is addressed to, as Mastodon's to/cc express it."""

    PUBLIC = "public"
    FOLLOWERS = "followers"
    DIRECT = "direct"  # the mentioned people only
    MEMBERS = "members"  # a closed group's members: its followers collection, never public


# Building blocks


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


# Builders


def iso(moment: datetime) -> str:
    """UTC with whole seconds and a Z, the form Mastodon writes and every peer parses."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC already (never the machine's local time)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def person(doc: PersonDoc) -> dict[str, Any]:
    """The Person document. A suspended person keeps id, endpoints and key (so peers can
    still verify what was signed) and loses everything else, as Mastodon serves them."""
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": doc.id,
        "type": "Person",
        "preferredUsername": doc.username,
        "name": doc.username if doc.suspended else doc.name,
        "summary": "" if doc.suspended else doc.summary,
        "url": doc.url,
        "inbox": doc.inbox,
        "outbox": doc.outbox,
        "followers": doc.followers,
        "following": doc.following,
        "featured": doc.featured,
        "featuredTags": doc.featured_tags,
        "endpoints": {"sharedInbox": doc.shared_inbox},
        "publicKey": _public_key(doc.id, doc.key_id, doc.public_key_pem),
        "manuallyApprovesFollowers": False,
        "discoverable": doc.discoverable and not doc.suspended,
        "indexable": doc.indexable and not doc.suspended,
        "published": iso(_utc(doc.published).replace(hour=0, minute=0, second=0, microsecond=0)),
        "attachment": [],
        "tag": [],
    }
    if doc.suspended:
        out["suspended"] = True
        return out
    out["attachment"] = [
        {"type": "PropertyValue", "name": f.name, "value": f.value} for f in doc.fields
    ]
    out["knowsAbout"] = [topic.name for topic in doc.topics]
    out["tag"] = [_hashtag(topic) for topic in doc.topics]
    if doc.icon is not None:
        out["icon"] = _image("Image", doc.icon)
    if doc.status is not None:
        out["status"] = _embedded(actor_status(doc.status, doc.id))
    return out


def actor_status(doc: StatusDoc, actor: str) -> dict[str, Any]:
    """The ``ActorStatus`` object of FEP-82f6 (plain-text ``content``, optional ``endTime``)."""
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": doc.id,
        "type": "ActorStatus",
        "attributedTo": actor,
        "content": doc.content,
        "published": iso(doc.published),
    }
    if doc.presence:
        out["presence"] = doc.presence
    if doc.end_time is not None:
        out["endTime"] = iso(doc.end_time)
    return out


def status_created(actor: str, status: StatusDoc, id: str, followers: str) -> dict[str, Any]:
    """``Create{ActorStatus}``: a new status, sent to followers (no Update of the actor).
    ``id`` must be new each time: the same presence set again is news again."""
    obj = _embedded(actor_status(status, actor))
    return _activity("Create", id, actor, obj, to=[followers])


def status_removed(actor: str, status_id: str, id: str, followers: str) -> dict[str, Any]:
    """``Remove{ActorStatus}``: the current status is cleared (FEP-82f6)."""
    obj = {"id": status_id, "type": "ActorStatus", "attributedTo": actor}
    return _activity("Remove", id, actor, obj, to=[followers])


def group(doc: GroupDoc) -> dict[str, Any]:
    """The Group document: Lemmy's community shape, plus topics as Mastodon hashtags."""
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": doc.id,
        "type": "Group",
        "preferredUsername": doc.username,
        "name": doc.name,
        "summary": doc.summary,
        "url": doc.url,
        "inbox": doc.inbox,
        "outbox": doc.outbox,
        "followers": doc.followers,
        "featured": doc.featured,
        "attributedTo": doc.moderators,
        "moderators": doc.moderators,
        "endpoints": {"sharedInbox": doc.shared_inbox},
        "publicKey": _public_key(doc.id, doc.key_id, doc.public_key_pem),
        "manuallyApprovesFollowers": doc.members_only,
        "discoverable": doc.discoverable,
        "indexable": doc.discoverable and not doc.members_only,
        "postingRestrictedToMods": doc.posting_restricted,
        "published": iso(doc.published),
        "knowsAbout": [topic.name for topic in doc.topics],
        "tag": [_hashtag(topic) for topic in doc.topics],
    }
    if doc.icon is not None:
        out["icon"] = _image("Image", doc.icon)
    return out


def group_addressing(group_id: str, followers: str, members_only: bool) -> list[str]:
    """``to`` of what a group sends (Lemmy's ``generate_to``): the group and the public for
    an open group; the group and its followers, never the public, for a closed one."""
    return [group_id, followers] if members_only else [group_id, PUBLIC]


def group_announce(
    group_id: str, id: str, activity: Mapping[str, Any], *, followers: str, members_only: bool
) -> dict[str, Any]:
    """FEP-1b12: the group wraps a member's activity, unchanged (its own ``@context``
    included), in an Announce to its followers."""
    return {
        "@context": CONTEXT,
        "id": id,
        "type": "Announce",
        "actor": group_id,
        "to": group_addressing(group_id, followers, members_only),
        "cc": [followers],
        "object": dict(activity),
    }


def application(doc: ApplicationDoc) -> dict[str, Any]:
    """The instance actor, an Application like Mastodon's ``/actor``; nobody follows it."""
    return {
        "@context": CONTEXT,
        "id": doc.id,
        "type": "Application",
        "preferredUsername": doc.username,
        "name": doc.name,
        "summary": doc.summary,
        "url": doc.url,
        "inbox": doc.inbox,
        "outbox": doc.outbox,
        "endpoints": {"sharedInbox": doc.shared_inbox},
        "publicKey": _public_key(doc.id, doc.key_id, doc.public_key_pem),
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
    }


def addressing(
    audience: Audience, followers: str, mentioned: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(to, cc) as Mastodon's ActivityPub::TagManager writes them: public goes to as:Public
    with the followers in cc, followers-only to the followers, direct to the mentioned only;
    the mentioned are in cc of the first two."""
    people = list(dict.fromkeys(mentioned))
    if audience == Audience.PUBLIC:
        return [PUBLIC], [followers, *people]
    if audience == Audience.FOLLOWERS:
        return [followers], people
    return people, []


def note_addressing(doc: NoteDoc) -> tuple[list[str], list[str]]:
    """(to, cc) of a post. In a group, as Lemmy and FEP-1b12 write them: an open group's
    posts are public, with the group in ``to`` and its followers and the mentioned in
    ``cc``; a closed group's go to the group and its followers only, never to the public
    nor to anyone mentioned outside it."""
    mentioned = [m.href for m in doc.mentions]
    if doc.group is None:
        return addressing(doc.audience, doc.followers, mentioned)
    members_only = doc.audience == Audience.MEMBERS
    to = group_addressing(doc.group, doc.group_followers, members_only)
    if members_only:
        return to, []
    people = [p for p in dict.fromkeys(mentioned) if p not in (doc.group, doc.group_followers)]
    return to, [doc.group_followers, *people]


def note(doc: NoteDoc) -> dict[str, Any]:
    """A Note, or an Article with a title."""
    to, cc = note_addressing(doc)
    out: dict[str, Any] = {"@context": CONTEXT, "id": doc.id}
    out["type"] = "Article" if doc.article else "Note"
    if doc.article:
        out["name"] = doc.name
    out.update(
        {
            "attributedTo": doc.attributed_to,
            "inReplyTo": doc.in_reply_to,
            "published": iso(doc.published),
            "url": doc.url,
            "to": to,
            "cc": cc,
            "sensitive": False,
            "content": doc.content,
        }
    )
    if doc.group is not None:
        out["audience"] = doc.group
    if doc.language:
        out["contentMap"] = {doc.language: doc.content}
    if doc.updated is not None:
        out["updated"] = iso(doc.updated)
    out["attachment"] = [_image("Document", image) for image in doc.attachments]
    out["tag"] = [{"type": "Mention", "href": m.href, "name": m.name} for m in doc.mentions] + [
        _hashtag(tag) for tag in doc.hashtags
    ]
    return out


def _public_key(owner: str, key_id: str, pem: str) -> dict[str, str]:
    return {"id": key_id, "owner": owner, "publicKeyPem": pem}


def _hashtag(tag: Link) -> dict[str, str]:
    return {"type": "Hashtag", "href": tag.href, "name": f"#{tag.name}"}


def _image(kind: str, image: Image) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "mediaType": image.media_type, "url": image.url}
    if image.description:
        out["name"] = image.description
    if image.width:
        out["width"] = image.width
    if image.height:
        out["height"] = image.height
    return out


# Activities. Embedded objects lose their own @context: the activity's covers them.


def _embedded(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != "@context"}


def _activity(kind: str, id: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"@context": CONTEXT, "id": id, "type": kind, "actor": actor}
    out.update({key: value for key, value in extra.items() if value is not None})
    out["object"] = _embedded(obj) if isinstance(obj, Mapping) else obj
    return out


def _audience_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An activity about a post goes to the post's own audience (Mastodon copies to/cc),
    and names the post's group, if any, as its ``audience`` (FEP-1b12)."""
    return {"to": obj.get("to", [PUBLIC]), "cc": obj.get("cc", []), "audience": obj.get("audience")}


def create(actor: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Create of a post; its id is the post's id plus ``/activity``, as Mastodon's."""
    return _activity(
        "Create",
        f"{obj['id']}/activity",
        actor,
        obj,
        published=obj.get("published"),
        **_audience_of(obj),
    )


def update(actor: str, obj: Mapping[str, Any], updated: datetime) -> dict[str, Any]:
    """Update of a post or a profile; one id per version (to the microsecond: two edits in
    one second are two versions), so a peer never drops an edit as a repeat of the previous
    one, and the same version always gets the same id."""
    stamp = (_utc(updated) - _EPOCH) // timedelta(microseconds=1)
    return _activity(
        "Update",
        f"{obj['id']}#updates/{stamp}",
        actor,
        obj,
        published=iso(updated),
        **_audience_of(obj),
    )


def delete(
    actor: str,
    object_id: str,
    *,
    to: Sequence[str] = (PUBLIC,),
    cc: Sequence[str] = (),
    audience: str | None = None,
) -> dict[str, Any]:
    """Delete, with a Tombstone for the object as Mastodon sends it; ``audience`` names the
    group of a group post (FEP-1b12)."""
    return _activity(
        "Delete",
        f"{object_id}#delete",
        actor,
        {"id": object_id, "type": "Tombstone"},
        to=list(to),
        cc=list(cc),
        audience=audience,
    )


def follow(actor: str, target: str, id: str) -> dict[str, Any]:
    return _activity("Follow", id, actor, target)


def accept(actor: str, follow_activity: Mapping[str, Any]) -> dict[str, Any]:
    """Accept of a Follow, embedding it; the id is derived from the Follow's, so answering
    the same Follow twice sends the same Accept."""
    return _answer("Accept", actor, follow_activity)


def reject(actor: str, follow_activity: Mapping[str, Any]) -> dict[str, Any]:
    return _answer("Reject", actor, follow_activity)


def _answer(kind: str, actor: str, follow_activity: Mapping[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(str(follow_activity.get("id", "")).encode()).hexdigest()[:24]
    follower = follow_activity.get("actor")
    return _activity(
        kind,
        f"{actor}#{kind.lower()}s/follows/{digest}",
        actor,
        follow_activity,
        to=[follower] if isinstance(follower, str) else None,
    )


def undo(actor: str, activity: Mapping[str, Any]) -> dict[str, Any]:
    """Undo of one of our own activities (a Follow, Like or Announce), embedding it."""
    return _activity(
        "Undo",
        f"{activity['id']}/undo",
        actor,
        activity,
        to=activity.get("to"),
        cc=activity.get("cc"),
    )


def like(actor: str, object_id: str, id: str, *, audience: str | None = None) -> dict[str, Any]:
    return _activity("Like", id, actor, object_id, audience=audience)


def announce(
    actor: str,
    object_id: str,
    id: str,
    *,
    followers: str,
    object_author: str | None = None,
    published: datetime | None = None,
) -> dict[str, Any]:
    """A boost: public, to the booster's followers and the author, as Mastodon sends it."""
    cc = [followers] + ([object_author] if object_author else [])
    return _activity(
        "Announce",
        id,
        actor,
        object_id,
        published=iso(published) if published else None,
        to=[PUBLIC],
        cc=cc,
    )


# Group moderation (FEP-1b12, as Lemmy sends it): said by a moderator, addressed to the
# group and its followers, with the group as ``audience``.


def _moderation(
    kind: str, id: str, actor: str, obj: Any, *, group: str, followers: str, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"@context": CONTEXT, "actor": actor, "audience": group}
    out.update(to=[group], cc=[followers], id=id, type=kind)
    out["object"] = _embedded(obj) if isinstance(obj, Mapping) else obj
    out.update(extra)
    return out


def add(
    actor: str, object_id: str, target: str, id: str, *, group: str, followers: str
) -> dict[str, Any]:
    """A post pinned: Add to the group's featured collection."""
    return _moderation("Add", id, actor, object_id, group=group, followers=followers, target=target)


def remove(
    actor: str, object_id: str, target: str, id: str, *, group: str, followers: str
) -> dict[str, Any]:
    """A post unpinned: Remove from the group's featured collection."""
    return _moderation(
        "Remove", id, actor, object_id, group=group, followers=followers, target=target
    )


def lock(actor: str, object_id: str, id: str, *, group: str, followers: str) -> dict[str, Any]:
    """A thread closed to replies."""
    return _moderation("Lock", id, actor, object_id, group=group, followers=followers)


def undo_moderation(actor: str, activity: Mapping[str, Any]) -> dict[str, Any]:
    """Undo of a Lock (or another moderation), addressed the same way, embedding it."""
    group, followers = activity["audience"], activity["cc"][0]
    return _moderation(
        "Undo", f"{activity['id']}/undo", actor, activity, group=group, followers=followers
    )


def block(actor: str, person: str, id: str, *, group: str, followers: str) -> dict[str, Any]:
    """Lemmy's ban from a community: a Block of the person with the group as target."""
    return {
        "@context": CONTEXT,
        "id": id,
        "type": "Block",
        "actor": actor,
        "object": person,
        "target": group,
        "audience": group,
        "to": [group],
        "cc": [followers],
    }


# Collections


def hashtag_collection(id: str, tags: Sequence[Link]) -> dict[str, Any]:
    """Hashtags as a Collection (Mastodon's featured tags of a profile)."""
    return {
        "@context": CONTEXT,
        "id": id,
        "type": "Collection",
        "totalItems": len(tags),
        "items": [{"type": "Hashtag", "href": t.href, "name": f"#{t.name}"} for t in tags],
    }


def ordered_collection(
    id: str, total: int, first: str | None = None, items: Sequence[Any] | None = None
) -> dict[str, Any]:
    """An OrderedCollection: its count, and its first page or (small ones) its items."""
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        out["first"] = first
    if items is not None:
        out["orderedItems"] = [_embedded(i) if isinstance(i, Mapping) else i for i in items]
    return out


def ordered_collection_page(
    id: str, part_of: str, items: Sequence[Any], next: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": [_embedded(i) if isinstance(i, Mapping) else i for i in items],
    }
    if next is not None:
        out["next"] = next
    return out


# Parsing remote actors


@dataclass(frozen=True)
class PublicKeyInfo:
    id: str
    owner: str
    pem: str


@dataclass(frozen=True)
class RemoteActor:
    """An actor document from another server, checked and typed.

    ``name``, ``summary`` and the values of ``fields`` are the remote server's text and HTML,
    unsanitised. Inbox, shared inbox and keys are on the actor's own server (others are
    refused or dropped); whether ``id`` is the URL the document came from is the caller's
    check, since only the caller knows where it fetched it.
    """

    id: str
    type: str
    preferred_username: str
    inbox: str
    name: str = ""
    summary: str = ""
    url: str | None = None
    outbox: str | None = None
    followers: str | None = None
    following: str | None = None
    shared_inbox: str | None = None
    public_keys: tuple[PublicKeyInfo, ...] = ()
    icon_url: str | None = None
    knows_about: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    manually_approves_followers: bool = False
    discoverable: bool = False
    indexable: bool = False
    suspended: bool = False
    published: datetime | None = None
    moderators: str | None = None  # a Group's moderators collection (its attributedTo)
    posting_restricted: bool = False  # a Group where only moderators post
    status: RemoteStatus | None = None  # the current FEP-82f6 status, when embedded

    @property
    def public_key(self) -> PublicKeyInfo | None:
        return self.public_keys[0] if self.public_keys else None

    def key(self, key_id: str) -> PublicKeyInfo | None:
        """The key a signature names, if this actor publishes it."""
        return next((k for k in self.public_keys if k.id == key_id), None)


def parse_actor(doc: object) -> RemoteActor:
    """Read an actor document; raises :class:`VocabularyError` if it cannot be used.

    Required: ``id`` (http(s) URL), ``type`` (an actor type), ``preferredUsername`` and
    ``inbox`` on the actor's server. Everything else is optional, and an optional member
    of the wrong shape is ignored rather than refused: servers differ in what they send.
    """
    if not isinstance(doc, Mapping):
        raise VocabularyError("actor document is not a JSON object")
    actor_id = _required_url(doc, "id")
    actor_type = _actor_type(doc.get("type"))
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username.strip():
        raise VocabularyError("actor has no preferredUsername")
    username = username.strip()
    if len(username) > 255 or any(c.isspace() or c in "@/?#" for c in username):
        raise VocabularyError("actor's preferredUsername is not a user name")
    inbox = _required_url(doc, "inbox")
    if not same_origin(inbox, actor_id):
        raise VocabularyError("actor's inbox is on another server")
    endpoints = doc.get("endpoints")
    shared = _url(endpoints.get("sharedInbox")) if isinstance(endpoints, Mapping) else None
    return RemoteActor(
        id=actor_id,
        type=actor_type,
        preferred_username=username,
        inbox=inbox,
        name=_text(doc, "name"),
        summary=_text(doc, "summary"),
        url=_link_url(doc.get("url")),
        outbox=_url(doc.get("outbox")),
        followers=_url(doc.get("followers")),
        following=_url(doc.get("following")),
        shared_inbox=shared if shared and same_origin(shared, actor_id) else None,
        public_keys=_public_keys(doc.get("publicKey"), actor_id),
        icon_url=_icon_url(doc.get("icon")),
        knows_about=_knows_about(doc.get("knowsAbout")),
        hashtags=_hashtags(doc.get("tag")),
        fields=_fields(doc.get("attachment")),
        manually_approves_followers=_flag(doc, "manuallyApprovesFollowers"),
        discoverable=_flag(doc, "discoverable"),
        indexable=_flag(doc, "indexable"),
        suspended=_flag(doc, "suspended"),
        published=_datetime(doc.get("published")),
        moderators=_moderators(doc, actor_id) if actor_type == "Group" else None,
        posting_restricted=_flag(doc, "postingRestrictedToMods"),
        status=_status_of(doc.get("status"), actor_id),
    )


@dataclass(frozen=True)
class RemoteStatus:
    """An FEP-82f6 actor status from elsewhere: ``content`` is plain text, unsanitised."""

    id: str
    content: str
    presence: str = ""  # one of PRESENCES, or "" when the status says nothing we know
    end_time: datetime | None = None
    published: datetime | None = None


def parse_status(doc: object, actor_id: str) -> RemoteStatus:
    """Read an ``ActorStatus`` of ``actor_id``; its id must be on the actor's server and it
    must not be attributed to anyone else. Raises :class:`VocabularyError`."""
    if not isinstance(doc, Mapping) or doc.get("type") != "ActorStatus":
        raise VocabularyError("not an ActorStatus")
    status_id = _required_url(doc, "id")
    if not same_origin(status_id, actor_id):
        raise VocabularyError("the status is on another server than its actor")
    author = doc.get("attributedTo", actor_id)
    if isinstance(author, Mapping):
        author = author.get("id")
    if author != actor_id:
        raise VocabularyError("the status is not the actor's own")
    content = doc.get("content")
    presence = doc.get("presence")
    return RemoteStatus(
        id=status_id,
        content=content[:MAX_STATUS] if isinstance(content, str) else "",
        presence=presence if isinstance(presence, str) and presence in PRESENCES else "",
        end_time=_datetime(doc.get("endTime")),
        published=_datetime(doc.get("published")),
    )


def _status_of(value: object, actor_id: str) -> RemoteStatus | None:
    """An actor's embedded ``status``; a bare id (not fetched) or a bad one counts as none."""
    try:
        return parse_status(value, actor_id) if isinstance(value, Mapping) else None
    except VocabularyError:
        return None


def _moderators(doc: Mapping[str, Any], actor_id: str) -> str | None:
    """A group's moderators collection: ``attributedTo`` (Lemmy, FEP-1b12) or ``moderators``
    (older Lemmy), on the group's own server."""
    for name in ("attributedTo", "moderators"):
        url = _url(doc.get(name))
        if url is not None and same_origin(url, actor_id):
            return url
    return None


def _url(value: object) -> str | None:
    """An absolute http(s) URL with a host, or None."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if _SPACE_OR_CONTROL.search(value):
        return None
    return value


# ``\s`` in a str pattern is exactly str.isspace(); one search is ~20x a loop over characters.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


def _required_url(doc: Mapping[str, Any], name: str) -> str:
    value = _url(doc.get(name))
    if value is None:
        missing = name not in doc or doc[name] is None
        raise VocabularyError(f"actor {'has no' if missing else 'has an invalid'} {name}")
    return value


def _actor_type(value: object) -> str:
    for candidate in _as_list(value):
        if candidate in ACTOR_TYPES:
            return str(candidate)
    raise VocabularyError("not an actor type")


def _as_list(value: object) -> list[Any]:
    """JSON-LD lets any member be one value or an array of them."""
    if value is None:
        return []
    return list(value[:MAX_ITEMS]) if isinstance(value, list) else [value]


def _text(doc: Mapping[str, Any], name: str) -> str:
    """A plain member, else the first value of its language map (``nameMap``)."""
    value = doc.get(name)
    if isinstance(value, str):
        return value
    language_map = doc.get(f"{name}Map")
    if isinstance(language_map, Mapping):
        return next((v for v in language_map.values() if isinstance(v, str)), "")
    return ""


def _flag(doc: Mapping[str, Any], name: str) -> bool:
    return doc.get(name) is True


def _link_url(value: object) -> str | None:
    """``url`` as a string, a Link (``href``) or a list of them; an HTML link wins."""
    candidates: list[tuple[str, str]] = []
    for item in _as_list(value):
        if isinstance(item, str):
            candidates.append((item, ""))
        elif isinstance(item, Mapping):
            href = item.get("href", item.get("url"))
            media_type = item.get("mediaType")
            if isinstance(href, str):
                candidates.append((href, media_type if isinstance(media_type, str) else ""))
    valid = [(url, kind) for url, kind in candidates if _url(url)]
    html = [url for url, kind in valid if kind.split(";")[0].strip() == "text/html"]
    return html[0] if html else (valid[0][0] if valid else None)


def _icon_url(value: object) -> str | None:
    """``icon`` as an Image, a URL or a list of them (PeerTube sends sizes): the widest."""
    best_url, best_width = None, -1.0
    for item in _as_list(value):
        if isinstance(item, Mapping):
            url = _link_url(item.get("url", item.get("href")))
            width = item.get("width")
        else:
            url, width = _link_url(item), None
        size = float(width) if isinstance(width, int | float) and math.isfinite(width) else 0.0
        if url is not None and size > best_width:
            best_url, best_width = url, size
    return best_url


def _public_keys(value: object, actor_id: str) -> tuple[PublicKeyInfo, ...]:
    """Keys as an object or a list; a key naming another owner, or living on another
    server, is dropped: it could not have been published by this actor."""
    keys: list[PublicKeyInfo] = []
    for item in _as_list(value):
        if not isinstance(item, Mapping):
            continue  # a bare key URL: nothing to verify with until it is fetched
        key_id = _url(item.get("id"))
        owner = item.get("owner", actor_id)
        pem = item.get("publicKeyPem")
        if key_id is None or not isinstance(pem, str) or not pem.strip():
            continue
        if owner != actor_id or not same_origin(key_id, actor_id):
            continue
        keys.append(PublicKeyInfo(key_id, actor_id, pem))
    return tuple(keys)


def _knows_about(value: object) -> tuple[str, ...]:
    names: list[str] = []
    for item in _as_list(value):
        if isinstance(item, Mapping):
            item = item.get("name", item.get("@value"))
        if isinstance(item, str) and item.strip() and item.strip() not in names:
            names.append(item.strip())
    return tuple(names)


def _hashtags(value: object) -> tuple[str, ...]:
    names: list[str] = []
    for item in _as_list(value):
        if isinstance(item, Mapping) and item.get("type") == "Hashtag":
            name = item.get("name")
            if isinstance(name, str) and name.lstrip("#").strip():
                tag = name.lstrip("#").strip()
                if tag not in names:
                    names.append(tag)
    return tuple(names)


def _fields(value: object) -> tuple[Field, ...]:
    found: list[Field] = []
    for item in _as_list(value):
        if isinstance(item, Mapping) and item.get("type") == "PropertyValue":
            name, text = item.get("name"), item.get("value")
            if isinstance(name, str) and isinstance(text, str):
                found.append(Field(name, text))
    return tuple(found)


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Content negotiation


def prefers_activity_json(accept: str) -> bool:
    """Whether an ``Accept`` header asks for ActivityStreams JSON rather than a web page.

    Only an explicit ``application/activity+json``, or ``application/ld+json`` with the
    ActivityStreams profile, counts; wildcards never do, so a browser's
    ``text/html,...,*/*;q=0.8`` gets the page. When both are named, the higher q wins and a
    tie goes to JSON (the peer named it on purpose). ``q=0`` means "not this".
    """
    best_activity = best_page = 0.0
    for media_range in _split_unquoted(accept, ","):
        media_type, *params = _split_unquoted(media_range, ";")
        kept, quality = [media_type.strip()], 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(value)
            else:
                kept.append(param.strip())
        main = kept[0].lower()
        if is_activity_type("; ".join(kept)):
            best_activity = max(best_activity, quality)
        elif main in ("text/html", "application/xhtml+xml"):
            best_page = max(best_page, quality)
    return best_activity > 0 and best_activity >= best_page


def _quality(value: str) -> float:
    try:
        quality = float(value.strip())
    except ValueError:
        return 0.0
    return min(max(quality, 0.0), 1.0) if math.isfinite(quality) else 0.0


def _split_unquoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (a profile URI list is quoted)."""
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()] or [""]
