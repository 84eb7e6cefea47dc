"""Actor documents from any server read into a :class:`RemoteActor`, accepting the shapes
real servers send (a list of icons from PeerTube, ``url`` as a Link object, ``tag`` as one
object, ``publicKey`` as a list, a key id without a fragment from Hubzilla) and refusing,
with :class:`~activitypub.context.VocabularyError`, what cannot be used. Text from the
remote side (``name``, ``summary``, field values) is returned as it came: the caller
sanitises HTML before it is stored or shown. Also an actor's FEP-82f6 status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .context import ACTOR_TYPES, PRESENCES, VocabularyError
from .docs import Field
from .origin import same_origin
from .values import as_list, http_url, link_url, moment_of, required_url, text_of

MAX_STATUS = 500  # characters of a remote status read (FEP-82f6 asks for 100 at least)


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
    actor_id = required_url(doc, "id")
    actor_type = _actor_type(doc.get("type"))
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username.strip():
        raise VocabularyError("actor has no preferredUsername")
    username = username.strip()
    if len(username) > 255 or any(c.isspace() or c in "@/?#" for c in username):
        raise VocabularyError("actor's preferredUsername is not a user name")
    inbox = required_url(doc, "inbox")
    if not same_origin(inbox, actor_id):
        raise VocabularyError("actor's inbox is on another server")
    endpoints = doc.get("endpoints")
    shared = http_url(endpoints.get("sharedInbox")) if isinstance(endpoints, Mapping) else None
    return RemoteActor(
        id=actor_id,
        type=actor_type,
        preferred_username=username,
        inbox=inbox,
        name=text_of(doc, "name"),
        summary=text_of(doc, "summary"),
        url=link_url(doc.get("url")),
        outbox=http_url(doc.get("outbox")),
        followers=http_url(doc.get("followers")),
        following=http_url(doc.get("following")),
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
        published=moment_of(doc.get("published")),
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
    status_id = required_url(doc, "id")
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
        end_time=moment_of(doc.get("endTime")),
        published=moment_of(doc.get("published")),
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
        url = http_url(doc.get(name))
        if url is not None and same_origin(url, actor_id):
            return url
    return None


def _actor_type(value: object) -> str:
    for candidate in as_list(value):
        if candidate in ACTOR_TYPES:
            return str(candidate)
    raise VocabularyError("not an actor type")


def _flag(doc: Mapping[str, Any], name: str) -> bool:
    return doc.get(name) is True


def _icon_url(value: object) -> str | None:
    """``icon`` as an Image, a URL or a list of them (PeerTube sends sizes): the widest."""
    best_url, best_width = None, -1.0
    for item in as_list(value):
        if isinstance(item, Mapping):
            url = link_url(item.get("url", item.get("href")))
            width = item.get("width")
        else:
            url, width = link_url(item), None
        size = float(width) if isinstance(width, int | float) and math.isfinite(width) else 0.0
        if url is not None and size > best_width:
            best_url, best_width = url, size
    return best_url


def _public_keys(value: object, actor_id: str) -> tuple[PublicKeyInfo, ...]:
    """Keys as an object or a list; a key naming another owner, or living on another
    server, is dropped: it could not have been published by this actor."""
    keys: list[PublicKeyInfo] = []
    for item in as_list(value):
        if not isinstance(item, Mapping):
            continue  # a bare key URL: nothing to verify with until it is fetched
        key_id = http_url(item.get("id"))
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
    for item in as_list(value):
        if isinstance(item, Mapping):
            item = item.get("name", item.get("@value"))
        if isinstance(item, str) and item.strip() and item.strip() not in names:
            names.append(item.strip())
    return tuple(names)


def _hashtags(value: object) -> tuple[str, ...]:
    names: list[str] = []
    for item in as_list(value):
        if isinstance(item, Mapping) and item.get("type") == "Hashtag":
            name = item.get("name")
            if isinstance(name, str) and name.lstrip("#").strip():
                tag = name.lstrip("#").strip()
                if tag not in names:
                    names.append(tag)
    return tuple(names)


def _fields(value: object) -> tuple[Field, ...]:
    found: list[Field] = []
    for item in as_list(value):
        if isinstance(item, Mapping) and item.get("type") == "PropertyValue":
            name, text = item.get("name"), item.get("value")
            if isinstance(name, str) and isinstance(text, str):
                found.append(Field(name, text))
    return tuple(found)
