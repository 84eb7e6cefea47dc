"""Posts from other servers read into typed values, and their audience read as Mastodon
reads ``to``/``cc``.

What Mastodon shows as a post is a post here too: Note, Article, Page, Question (a poll),
Event (its time and place), Video, Audio, Image and Document (a title, a link to it, its
media). Besides the text: the content warning (``sensitive``, ``summary``), the post it
quotes (Mastodon's ``quote``, Misskey's ``_misskey_quote``, ``quoteUrl``/``quoteUri``,
FEP-e232 Link tags), and the language variants of ``contentMap``/``nameMap``/``summaryMap``.

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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .context import PUBLIC, VocabularyError
from .docs import Audience, Link
from .values import http_url, link_url, moment_of

NOTE_TYPES = frozenset(
    {"Note", "Article", "Question", "Page", "Event", "Video", "Audio", "Image", "Document"}
)
PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})
MAX_CONTENT = 200_000  # characters of HTML; our own longest article is 100,000 of Markdown
MAX_NAME = 1_000
MAX_SUMMARY = 1_000
MAX_RECIPIENTS = 1_000  # to + cc of one post; Mastodon caps mentions far lower
MAX_TAGS = 100
MAX_ATTACHMENTS = 20
MAX_DIMENSION = 100_000  # pixels; larger is a lie
MAX_OPTIONS = 20  # of a poll; Mastodon allows 4 by default, others a few more
MAX_VOTES = 1_000_000_000
MAX_LANGUAGES = 4  # language variants kept of one post (contentMap and friends)
MAX_LANGUAGE = 16  # characters of a language tag ("nl", "en-GB", "zh-Hant-TW")
MAX_PLACE = 300
QUOTE_REL = "https://misskey-hub.net/ns#_misskey_quote"
AS_MEDIA_TYPES = ("application/activity+json", "application/ld+json")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")

__all__ = [
    "NOTE_TYPES",
    "Attachment",
    "Emoji",
    "Event",
    "Poll",
    "PollOption",
    "RemoteObject",
    "Variant",
    "VocabularyError",
    "audience_of",
    "is_public",
    "parse_object",
]


MEDIA_KINDS = ("image", "video", "audio")
# What a file's name says it is, when nothing else does (an attachment without mediaType).
EXTENSION_KINDS = {
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp", "avif"), "image"),
    **dict.fromkeys(("mp4", "m4v", "webm", "mov", "ogv"), "video"),
    **dict.fromkeys(("mp3", "m4a", "ogg", "oga", "opus", "wav", "flac"), "audio"),
}


@dataclass(frozen=True)
class Attachment:
    """An attached file as announced: where it is, what it is, and its description.

    ``kind`` is image, video, audio or document: from ``mediaType``, else from the
    attachment's ``type`` (Image, Video, Audio), else from the file's extension. What the
    file really is, is checked when it is fetched, never believed from here."""

    url: str
    media_type: str  # as announced, "" when not said
    kind: str = "document"
    name: str = ""  # the description (alt text)
    width: int = 0
    height: int = 0
    blurhash: str = ""
    focal_point: tuple[float, float] | None = None  # x, y in -1..1 (Mastodon's focalPoint)
    size: int = 0  # bytes, when the sender says
    preview: str | None = None  # a still of a video (PeerTube's icon)


@dataclass(frozen=True)
class Emoji:
    """A custom emoji (an ``Emoji`` tag): ``:shortcode:`` in the text stands for its image."""

    shortcode: str  # without the colons
    url: str


@dataclass(frozen=True)
class PollOption:
    """One answer of a poll (a Question's ``oneOf``/``anyOf`` item) and its votes so far."""

    name: str
    votes: int = 0


@dataclass(frozen=True)
class Poll:
    """A Question as Mastodon shows it: answers with counts, read only here."""

    options: tuple[PollOption, ...]
    multiple: bool = False  # ``anyOf``: several answers may be chosen
    ends_at: datetime | None = None  # the moment of ``closed``, else ``endTime``
    closed: bool = False  # ``closed: true``, without a moment
    voters: int = 0  # Mastodon's ``votersCount``; 0 when not said


@dataclass(frozen=True)
class Event:
    """An Event's time and place (Mobilizon, Friendica), kept until events exist here."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""  # ``location.name``
    address: str = ""  # ``location.address``, a string or a PostalAddress, as one line


@dataclass(frozen=True)
class Variant:
    """The text of a post in one language (``contentMap`` and friends), unsanitised."""

    language: str
    content: str = ""
    name: str = ""
    summary: str = ""


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
    emoji: tuple[Emoji, ...] = ()  # custom emoji used in the text
    audience: tuple[str, ...] = ()  # FEP-1b12: the group a post belongs to
    sensitive: bool = False  # the post, or any of its attachments, is marked sensitive
    quote: str | None = None  # the id of the post it quotes
    language: str = ""  # of ``content``/``name``/``summary``, when a map says it
    variants: tuple[Variant, ...] = ()  # the other (and same) languages, at most MAX_LANGUAGES
    poll: Poll | None = None  # a Question's answers
    event: Event | None = None  # an Event's time and place

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
        raise VocabularyError("not a post (Note, Article, Page, Question, Event or media)")
    author = _attributed_to(doc.get("attributedTo"))
    if author is None:
        raise VocabularyError("object has no valid attributedTo")
    variants = _variants(doc)
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
        attachments=_attachments(doc.get("attachment")) or _media_of(doc, str(kind)),
        emoji=_emoji(doc.get("tag")),
        audience=tuple(i for i in (_id_of(a) for a in _items(doc.get("audience"), 8)) if i),
        sensitive=doc.get("sensitive") is True or _sensitive_media(doc.get("attachment")),
        quote=_quote(doc),
        language=_default_language(doc, variants),
        variants=variants,
        poll=_poll(doc) if kind == "Question" else None,
        event=_event(doc) if kind == "Event" else None,
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
        if url is None:
            continue
        media_type = _media_type(item.get("mediaType"))
        name = item.get("name")
        blurhash = item.get("blurhash")
        found.append(
            Attachment(
                url=url,
                media_type=media_type,
                kind=_kind(media_type, item.get("type"), url),
                name=name[:MAX_NAME] if isinstance(name, str) else "",
                width=_dimension(item.get("width")),
                height=_dimension(item.get("height")),
                blurhash=blurhash
                if isinstance(blurhash, str) and BLURHASH.fullmatch(blurhash)
                else "",
                focal_point=_focal_point(item.get("focalPoint")),
                size=_count(item.get("size")),
            )
        )
    return tuple(found)


BLURHASH = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}")
MAX_MEDIA_TYPE = 100


def _media_type(value: object) -> str:
    """An announced media type, lower-cased without parameters; "" when absent or odd."""
    if not isinstance(value, str) or len(value) > MAX_MEDIA_TYPE:
        return ""
    return value.split(";")[0].strip().lower()


def _kind(media_type: str, kind: object, url: str) -> str:
    """Image, video, audio or document: what the media type says, else the ``type``, else
    the file's extension (GoToSocial and others send ``type: Image`` without a mediaType)."""
    major = media_type.partition("/")[0]
    if major in MEDIA_KINDS:
        return major
    if media_type:
        return "document"
    for name in _items(kind, 4):
        if isinstance(name, str) and name.lower() in MEDIA_KINDS:
            return name.lower()
    path = url.split("?")[0].split("#")[0]
    extension = path.rpartition("/")[2].rpartition(".")[2].lower()
    return EXTENSION_KINDS.get(extension, "document")


def _focal_point(value: object) -> tuple[float, float] | None:
    """Mastodon's ``focalPoint``: [x, y], each from -1 to 1."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    x, y = value
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and -1 <= v <= 1
        for v in (x, y)
    )
    return (float(x), float(y)) if numbers else None


MAX_VIDEO_HEIGHT = 720  # of the file chosen among a video's renditions


def _media_of(doc: Mapping[str, Any], kind: str) -> tuple[Attachment, ...]:
    """The file of a Video, Audio or Image object that lists its files in ``url`` instead
    of ``attachment`` (PeerTube: Links with video/* media types beside the text/html watch
    page): one rendition, the largest up to 720 lines, with the object's ``icon`` as its
    still and its ``name`` as its description."""
    wanted = kind.lower()
    if wanted not in MEDIA_KINDS:
        return ()
    files: list[tuple[int, str, str, int]] = []  # height, url, media type, size
    for item in _items(doc.get("url"), MAX_ATTACHMENTS):
        if not isinstance(item, Mapping):
            continue
        media_type = _media_type(item.get("mediaType"))
        href = http_url(item.get("href"))
        if href and media_type.partition("/")[0] == wanted:
            files.append(
                (_dimension(item.get("height")), href, media_type, _count(item.get("size")))
            )
    if not files:
        return ()
    fitting = [f for f in files if f[0] <= MAX_VIDEO_HEIGHT]
    height, url, media_type, size = max(fitting) if fitting else min(files)
    name = doc.get("name")
    return (
        Attachment(
            url=url,
            media_type=media_type,
            kind=wanted,
            name=name[:MAX_NAME] if isinstance(name, str) else "",
            height=height,
            size=size,
            preview=_still(doc.get("icon")),
        ),
    )


def _still(value: object) -> str | None:
    """The largest image of ``icon`` up to 1,280 pixels wide (a video's thumbnail)."""
    found: list[tuple[int, str]] = []
    for item in _items(value, 8):
        if isinstance(item, Mapping):
            url = link_url(item.get("url"))
            width = _dimension(item.get("width"))
            if url and width <= 1280:
                found.append((width, url))
    return max(found)[1] if found else None


MAX_EMOJI = 50  # custom emoji of one post
SHORTCODE = re.compile(r"[A-Za-z0-9_+\-]{1,64}")


def _emoji(value: object) -> tuple[Emoji, ...]:
    """``Emoji`` tags (Mastodon, Misskey, Pleroma): a shortcode and an image URL. A
    shortcode of other characters or longer than 64 is ignored, its text stays as it is."""
    found: dict[str, Emoji] = {}
    for item in _items(value, MAX_TAGS):
        if not isinstance(item, Mapping) or item.get("type") not in ("Emoji", "toot:Emoji"):
            continue
        name = item.get("name")
        if not isinstance(name, str) or len(name) > 66:
            continue
        shortcode = name.strip().removeprefix(":").removesuffix(":")
        url = link_url(item.get("icon"))  # an Image (its url), a Link, or the URL itself
        if url and SHORTCODE.fullmatch(shortcode) and shortcode not in found:
            found[shortcode] = Emoji(shortcode, url)
        if len(found) >= MAX_EMOJI:
            break
    return tuple(found.values())


def _dimension(value: object) -> int:
    """Width or height in pixels; 0 when unknown or not believable."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return int(value) if 0 < value <= MAX_DIMENSION else 0


def _sensitive_media(value: object) -> bool:
    """Misskey marks a sensitive file, not the note: the post is hidden behind a warning."""
    return any(
        isinstance(item, Mapping) and item.get("sensitive") is True
        for item in _items(value, MAX_ATTACHMENTS)
    )


def _quote(doc: Mapping[str, Any]) -> str | None:
    """The quoted post: FEP-e232 Link tags first (the form FEP-044f recommends), then the
    members Mastodon, Misskey and others write."""
    for item in _items(doc.get("tag"), MAX_TAGS):
        if not isinstance(item, Mapping) or item.get("type") != "Link":
            continue
        rels = [r for r in _items(item.get("rel"), 8) if isinstance(r, str)]
        media_type = item.get("mediaType")
        as_json = isinstance(media_type, str) and media_type.split(";")[0].strip() in (
            AS_MEDIA_TYPES
        )
        if QUOTE_REL in rels or as_json:
            found = http_url(item.get("href"))
            if found:
                return found
    for name in ("quote", "_misskey_quote", "quoteUrl", "quoteUri"):
        for item in _items(doc.get(name), 1):  # one post is quoted: the first of a list
            found = _id_of(item)
            if found:
                return found
    return None


def _language(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_LANGUAGE and LANGUAGE_TAG.fullmatch(value):
        return value
    return None


def _variants(doc: Mapping[str, Any]) -> tuple[Variant, ...]:
    """The languages of ``contentMap``, ``nameMap`` and ``summaryMap``, in the order they
    first appear, at most :data:`MAX_LANGUAGES` (Dutch and English first: the readers'
    languages here), each text cut as the plain member is."""
    texts: dict[str, dict[str, str]] = {}
    for member, limit in (("content", MAX_CONTENT), ("name", MAX_NAME), ("summary", MAX_SUMMARY)):
        language_map = doc.get(f"{member}Map")
        if not isinstance(language_map, Mapping):
            continue
        for key, text in list(language_map.items())[:MAX_ITEMS_OF_MAP]:
            language = _language(key)
            if language is not None and isinstance(text, str):
                texts.setdefault(language, {})[member] = text[:limit]
    ordered = sorted(texts, key=lambda lang: lang.split("-")[0].lower() not in ("nl", "en"))
    return tuple(Variant(language, **texts[language]) for language in ordered[:MAX_LANGUAGES])


MAX_ITEMS_OF_MAP = 16  # entries of one language map looked at


def _default_language(doc: Mapping[str, Any], variants: tuple[Variant, ...]) -> str:
    """The language of the plain members: the map entry that is ``content`` itself, else
    (no ``content``) the first language of ``contentMap``, whose text is then the default,
    else PeerTube's ``language``, else a ``@language`` of the context."""
    content = doc.get("content")
    if isinstance(content, str):
        for variant in variants:
            if variant.content and variant.content == content[:MAX_CONTENT]:
                return variant.language
    else:
        first = _first_map_language(doc)
        if first:
            return first
    said = doc.get("language")  # PeerTube: {"identifier": "nl", "name": "Dutch"}
    found = _language(said.get("identifier") if isinstance(said, Mapping) else said)
    if found:
        return found
    for item in _items(doc.get("@context"), 8):
        if isinstance(item, Mapping):
            found = _language(item.get("@language"))
            if found:
                return found
    return ""


def _first_map_language(doc: Mapping[str, Any]) -> str | None:
    """The first language of ``contentMap``: the text shown when ``content`` is absent."""
    language_map = doc.get("contentMap")
    if isinstance(language_map, Mapping):
        for key, text in list(language_map.items())[:MAX_ITEMS_OF_MAP]:
            if isinstance(text, str):
                return _language(key)
    return None


def _poll(doc: Mapping[str, Any]) -> Poll:
    """A Question's answers: ``oneOf`` (one answer) or ``anyOf`` (several)."""
    multiple = "oneOf" not in doc and "anyOf" in doc
    options: list[PollOption] = []
    for item in _items(doc.get("anyOf" if multiple else "oneOf"), MAX_OPTIONS):
        if not isinstance(item, Mapping):
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        replies = item.get("replies")
        votes = _count(replies.get("totalItems")) if isinstance(replies, Mapping) else 0
        options.append(PollOption(name[:MAX_NAME], votes))
    closed = doc.get("closed")
    # ``closed`` is the moment it closed (Mastodon) or true; a moment still to come is
    # only a closing time, which the reader's page compares with the clock.
    return Poll(
        options=tuple(options),
        multiple=multiple,
        ends_at=moment_of(closed) or moment_of(doc.get("endTime")),
        closed=closed is True,
        voters=_count(doc.get("votersCount")),
    )


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 <= value <= MAX_VOTES else 0


def _event(doc: Mapping[str, Any]) -> Event:
    """``startTime``, ``endTime`` and the ``location`` Place: its name and address (a
    string, or Mobilizon's PostalAddress object read as one line)."""
    place, address = "", ""
    location = next((i for i in _items(doc.get("location"), 4) if isinstance(i, Mapping)), None)
    if location is not None:
        name = location.get("name")
        place = name[:MAX_PLACE] if isinstance(name, str) else ""
        address = _address(location.get("address"))
    return Event(
        starts_at=moment_of(doc.get("startTime")),
        ends_at=moment_of(doc.get("endTime")),
        place=place,
        address=address,
    )


ADDRESS_PARTS = (
    "streetAddress",
    "postalCode",
    "addressLocality",
    "addressRegion",
    "addressCountry",
)


def _address(value: object) -> str:
    if isinstance(value, str):
        return value[:MAX_PLACE]
    if not isinstance(value, Mapping):
        return ""
    parts = [value.get(name) for name in ADDRESS_PARTS]
    return ", ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())[:MAX_PLACE]
