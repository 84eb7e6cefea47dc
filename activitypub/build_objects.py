"""Posts (Note, Article) as JSON, and how they are addressed (``to``/``cc``) as Mastodon
addresses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .context import CONTEXT, PUBLIC
from .docs import Audience, Image, Link, NoteDoc, iso


def group_addressing(group_id: str, followers: str, members_only: bool) -> list[str]:
    """``to`` of what a group sends (Lemmy's ``generate_to``): the group and the public for
    an open group; the group and its followers, never the public, for a closed one."""
    return [group_id, followers] if members_only else [group_id, PUBLIC]


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
    out["attachment"] = [image_json("Document", image) for image in doc.attachments]
    out["tag"] = [{"type": "Mention", "href": m.href, "name": m.name} for m in doc.mentions] + [
        hashtag_json(tag) for tag in doc.hashtags
    ]
    return out


def hashtag_json(tag: Link) -> dict[str, str]:
    return {"type": "Hashtag", "href": tag.href, "name": f"#{tag.name}"}


def image_json(kind: str, image: Image) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "mediaType": image.media_type, "url": image.url}
    if image.description:
        out["name"] = image.description
    if image.width:
        out["width"] = image.width
    if image.height:
        out["height"] = image.height
    return out
