"""Posts from other servers (Note, Article, Question, Page) read into typed values, and
their audience read as Mastodon reads ``to``/``cc``.

Remote JSON is hostile until proven otherwise: every member is optional except ``id``,
``type`` and ``attributedTo``, any member of the wrong shape is ignored rather than trusted,
lists are cut at a bound, text at a length, numbers checked. Text comes back as it came
(``content`` and ``summary`` may be HTML with scripts in it): the caller sanitises before
anything is stored or shown. Whether the object may speak for its author (same origin as
``attributedTo``, the URL it was fetched from) is the caller's check;
``activitypub.origin.same_origin`` helps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .context import PUBLIC, VocabularyError
from .docs import Audience, Link
from .values import http_url, link_url, moment_of

NOTE_TYPES = frozenset({"Note", "Article", "Question", "Page"})
PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})
MAX_CONTENT = 200_000  # characters of HTML; our own longest article is 100,000 of Markdown
MAX_NAME = 1_000
MAX_SUMMARY = 1_000
MAX_RECIPIENTS = 1_000  # to + cc of one post; Mastodon caps mentions far lower
MAX_TAGS = 100
MAX_ATTACHMENTS = 20
MAX_DIMENSION = 100_000  # pixels; larger is a lie

__all__ = [
    "NOTE_TYPES",
    "Attachment",
    "RemoteObject",
    "VocabularyError",
    "audience_of",
    "is_public",
    "parse_object",
]


@dataclass(frozen=True)
class Attachment:
    """An attached file as announced: where it is, what it is, and its description."""

    url: str
    media_type: str
    name: str = ""
    width: int = 0
    height: int = 0

    @property
    def is_image(self) -> bool:
        return self.media_type.lower().startswith("image/")


@dataclass(frozen=True)
class RemoteObject:
    """A post from another server, checked and typed; text unsanitised (see module doc)."""

    id: str
    type: str
    attributed_to: str
    content: str = ""
    name: str = ""
    summary: str = ""
    url: str | None = None
    in_reply_to: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()  # names without "#", as written
    mentions: tuple[Link, ...] = ()  # href is the mentioned actor's id
    attachments: tuple[Attachment, ...] = ()
    audience: tuple[str, ...] = ()  # FEP-1b12: the group a post belongs to
    sensitive: bool = False

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


def parse_object(doc: object) -> RemoteObject:
    """Read a post; raises :class:`VocabularyError` when it is not a post we can use."""
    if not isinstance(doc, Mapping):
        raise VocabularyError("object is not a JSON object")
    object_id = http_url(doc.get("id"))
    if object_id is None:
        raise VocabularyError("object has no valid id")
    kind = next((t for t in _items(doc.get("type"), 8) if t in NOTE_TYPES), None)
    if kind is None:
        raise VocabularyError("not a post (Note, Article, Question or Page)")
    author = _attributed_to(doc.get("attributedTo"))
    if author is None:
        raise VocabularyError("object has no valid attributedTo")
    return RemoteObject(
        id=object_id,
        type=str(kind),
        attributed_to=author,
        content=_text(doc, "content", MAX_CONTENT),
        name=_text(doc, "name", MAX_NAME),
        summary=_text(doc, "summary", MAX_SUMMARY),
        url=link_url(doc.get("url")),
        in_reply_to=_reply_target(doc.get("inReplyTo")),
        published=moment_of(doc.get("published")),
        updated=moment_of(doc.get("updated")),
        to=_recipients(doc.get("to")),
        cc=_recipients(doc.get("cc")),
        hashtags=_hashtags(doc.get("tag")),
        mentions=_mentions(doc.get("tag")),
        attachments=_attachments(doc.get("attachment")),
        audience=tuple(i for i in (_id_of(a) for a in _items(doc.get("audience"), 8)) if i),
        sensitive=doc.get("sensitive") is True,
    )


def is_public(recipient: str) -> bool:
    return recipient in PUBLIC_FORMS


def audience_of(obj: RemoteObject, followers: str | None) -> Audience:
    """Mastodon's reading of ``to``/``cc``: as:Public anywhere makes a post public (in ``cc``
    Mastodon calls it unlisted, which is public here), the author's followers collection
    makes it followers-only, anything else is for the addressed people only."""
    if any(is_public(r) for r in obj.recipients):
        return Audience.PUBLIC
    if followers and followers in obj.recipients:
        return Audience.FOLLOWERS
    return Audience.DIRECT


# Readers of single members


def _items(value: object, limit: int) -> list[Any]:
    """JSON-LD lets any member be one value or an array of them."""
    if value is None:
        return []
    return list(value[:limit]) if isinstance(value, list) else [value]


def _id_of(value: object) -> str | None:
    """A reference: a URL, or an object (or Link) carrying one in ``id`` or ``href``."""
    if isinstance(value, Mapping):
        value = value.get("id", value.get("href"))
    return http_url(value)


COLLECTION_TYPES = frozenset(
    {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
)
HASHTAG_TYPES = frozenset(
    {"Hashtag", "as:Hashtag", "https://www.w3.org/ns/activitystreams#Hashtag"}
)


def _reply_target(value: object, depth: int = 0) -> str | None:
    """The post a post answers, in every form the Fediverse Pasture catalogue sends: a URL,
    a Link (``href``), an embedded object (``id``), a list (its first item: we answer one
    post) or a Collection (its first item). Nesting is followed a few levels only."""
    if depth > 3:
        return None
    if isinstance(value, list):
        return _reply_target(value[0], depth + 1) if value else None
    if isinstance(value, Mapping):
        kinds = _items(value.get("type"), 8)
        if any(kind in COLLECTION_TYPES for kind in kinds):
            items = value.get("orderedItems", value.get("items"))
            return _reply_target(items, depth + 1) if items is not None else None
    return _id_of(value)


def _attributed_to(value: object) -> str | None:
    """The author: PeerTube lists a Person and a Group; the Person writes the post."""
    candidates = _items(value, 8)
    for item in candidates:
        if isinstance(item, Mapping) and item.get("type") in ("Person", "Service"):
            found = _id_of(item)
            if found:
                return found
    return next((found for found in map(_id_of, candidates) if found), None)


def _text(doc: Mapping[str, Any], name: str, limit: int) -> str:
    """A plain member, else the first value of its language map; cut at ``limit``."""
    value = doc.get(name)
    if not isinstance(value, str):
        language_map = doc.get(f"{name}Map")
        value = ""
        if isinstance(language_map, Mapping):
            value = next((v for v in language_map.values() if isinstance(v, str)), "")
    return value[:limit]


def _recipients(value: object) -> tuple[str, ...]:
    found: list[str] = []
    for item in _items(value, MAX_RECIPIENTS):
        recipient = item if isinstance(item, str) and is_public(item) else _id_of(item)
        if recipient and recipient not in found:
            found.append(recipient)
    return tuple(found)


def _hashtags(value: object) -> tuple[str, ...]:
    names: list[str] = []
    for item in _items(value, MAX_TAGS):
        if isinstance(item, Mapping) and _is_hashtag(item.get("type")):
            name = item.get("name")
            if isinstance(name, str) and 0 < len(name) <= 200:
                tag = name.strip().removeprefix("#")
                if tag and tag not in names:
                    names.append(tag)
    return tuple(names)


def _is_hashtag(kind: object) -> bool:
    """``Hashtag`` as Mastodon writes it, compacted as ``as:Hashtag``, or the full IRI (a
    JSON-LD processor's expansion); a list of types when one of them is."""
    return any(isinstance(k, str) and k in HASHTAG_TYPES for k in _items(kind, 8))


def _mentions(value: object) -> tuple[Link, ...]:
    found: list[Link] = []
    for item in _items(value, MAX_TAGS):
        if isinstance(item, Mapping) and item.get("type") == "Mention":
            href = http_url(item.get("href"))
            name = item.get("name")
            if href and all(m.href != href for m in found):
                found.append(Link(href, name[:200] if isinstance(name, str) else ""))
    return tuple(found)


def _attachments(value: object) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for item in _items(value, MAX_ATTACHMENTS):
        if not isinstance(item, Mapping):
            continue
        url = link_url(item.get("url", item.get("href")))
        media_type = item.get("mediaType")
        if url is None or not isinstance(media_type, str) or len(media_type) > 100:
            continue
        name = item.get("name")
        found.append(
            Attachment(
                url=url,
                media_type=media_type.strip(),
                name=name[:MAX_NAME] if isinstance(name, str) else "",
                width=_dimension(item.get("width")),
                height=_dimension(item.get("height")),
            )
        )
    return tuple(found)


def _dimension(value: object) -> int:
    """Width or height in pixels; 0 when unknown or not believable."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return int(value) if 0 < value <= MAX_DIMENSION else 0
