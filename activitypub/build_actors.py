"""Our actors as JSON: people (Person), groups (Group, FEP-1b12), the instance
(Application), and a person's presence as an FEP-82f6 ActorStatus.
"""

from __future__ import annotations

from typing import Any

from .build_objects import hashtag_json, image_json
from .context import CONTEXT
from .docs import ApplicationDoc, GroupDoc, PersonDoc, StatusDoc, embedded, iso, utc


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
        "published": iso(utc(doc.published).replace(hour=0, minute=0, second=0, microsecond=0)),
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
    out["tag"] = [hashtag_json(topic) for topic in doc.topics]
    if doc.icon is not None:
        out["icon"] = image_json("Image", doc.icon)
    if doc.status is not None:
        out["status"] = embedded(actor_status(doc.status, doc.id))
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
        "tag": [hashtag_json(topic) for topic in doc.topics],
    }
    if doc.icon is not None:
        out["icon"] = image_json("Image", doc.icon)
    return out


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


def _public_key(owner: str, key_id: str, pem: str) -> dict[str, str]:
    return {"id": key_id, "owner": owner, "publicKeyPem": pem}
