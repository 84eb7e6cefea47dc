"""Expertise profiles: who someone is, what they know, and whether they are in today."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from fediverse_intranet.content import normalise_tag
from fediverse_intranet.errors import InvalidInput
from fediverse_intranet.models import Actor, ActorTopic, Presence, Tag
from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import (
    as2,
    deliveries,
    expertise,
    federation_policy,
    media,
    presence_federation,
)
from fediverse_intranet.services.clock import now

MAX_TOPICS = 30
CLOUD_SIZE = 40
FIELD_LIMITS = {
    "display_name": 100,
    "job_title": 100,
    "team": 100,
    "location": 100,
    "contact": 200,
    "bio": 2000,
}


@dataclass
class ProfileForm:
    display_name: str = ""
    job_title: str = ""
    team: str = ""
    location: str = ""
    contact: str = ""
    bio: str = ""
    topics: str = ""  # comma or space separated
    levels: dict[str, str] = field(default_factory=dict)  # topic -> "0".."3"; absent: kept


LEVELS = range(4)  # 0 unsaid, 1 basic, 2 working knowledge, 3 expert


def parse_levels(levels: dict[str, str]) -> dict[str, int]:
    """The self-assessed level per topic, each 0-3; anything else is refused."""
    parsed: dict[str, int] = {}
    for name, raw in levels.items():
        value = parse_int(raw, low=LEVELS.start, high=LEVELS.stop - 1)
        if value is None:
            raise InvalidInput("Choose a level from the list.", field="levels")
        parsed[name] = value
    return parsed


def _clean(name: str, value: str) -> str:
    if name == "bio":
        # Browsers send line breaks as CRLF; count (and store) each as one character.
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    else:
        value = " ".join(value.split())
    if len(value) > FIELD_LIMITS[name]:
        raise InvalidInput("Use at most %(max)s characters.", field=name, max=FIELD_LIMITS[name])
    return value


def parse_topics(text: str) -> list[str]:
    """Topics are one word each (like hashtags), separated by commas, semicolons or spaces."""
    names: list[str] = []
    for part in text.replace(",", " ").replace(";", " ").split():
        name = normalise_tag(part)
        if name is None:
            raise InvalidInput(
                "%(topic)s is not a topic: use one word of letters, digits or underscores"
                " (64 at most).",
                field="topics",
                topic=part[:70],
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_TOPICS:
        raise InvalidInput("Choose at most %(max)s topics.", field="topics", max=MAX_TOPICS)
    return names


async def topics_of(actor: Actor) -> list[str]:
    rows = await ActorTopic.filter(actor=actor).select_related("tag").order_by("tag__name")
    return [row.tag.name for row in rows]


async def topic_levels(actor: Actor) -> list[tuple[str, int]]:
    """The person's topics with their self-assessed level, by name."""
    rows = await ActorTopic.filter(actor=actor).select_related("tag").order_by("tag__name")
    return [(row.tag.name, row.level) for row in rows]


async def update_profile(actor: Actor, form: ProfileForm) -> Actor:
    """Save the profile; followers on other servers get an Update in the same transaction."""
    values = {name: _clean(name, getattr(form, name)) for name in FIELD_LIMITS}
    topics = parse_topics(form.topics)
    levels = parse_levels(form.levels)
    async with in_transaction():
        for name, value in values.items():
            setattr(actor, name, value)
        await actor.save(update_fields=list(values))
        kept = dict(await ActorTopic.filter(actor=actor).values_list("tag__name", "level"))
        await ActorTopic.filter(actor=actor).delete()
        for name in topics:
            tag, _ = await Tag.get_or_create(name=name)
            level = levels.get(name, kept.get(name, 0))
            await ActorTopic.create(actor=actor, tag=tag, level=level)
        await announce_profile(actor)
        # remote_directory builds on this module: imported at call time, not at import.
        from fediverse_intranet.services import remote_directory

        await remote_directory.profile_changed(actor)  # servers reading our directory
    await expertise.rescore(actor)
    return actor


async def set_photo(actor: Actor, data: bytes) -> Actor:
    old = actor.photo
    new = await media.save_avatar(data)
    try:
        async with in_transaction():
            actor.photo = new
            await actor.save(update_fields=["photo"])
            await announce_profile(actor)
    except BaseException:
        actor.photo = old
        media.remove(new)
        raise
    if old:
        media.remove(old)
    return actor


async def remove_photo(actor: Actor) -> Actor:
    if actor.photo:
        old = actor.photo
        async with in_transaction():
            actor.photo = ""
            await actor.save(update_fields=["photo"])
            await announce_profile(actor)
        media.remove(old)
    return actor


async def announce_profile(actor: Actor) -> int:
    """Queue an Update of the person's actor document to their followers on other servers
    (each server's shared inbox once); call it inside the transaction that changed it.

    A person with followers elsewhere has a
    key already (it signed the Accepts), so nothing slow runs inside the transaction.
    """
    followers = await Actor.filter(
        following__followee=actor, following__accepted=True, domain__not=""
    )
    return await queue_update(actor, followers)


async def queue_update(actor: Actor, recipients: Iterable[Actor]) -> int:
    """Queue an ``Update`` of the person's actor document for ``recipients`` (their servers'
    shared inboxes once each, within the federation policy); returns how many were queued.
    """
    policy = await federation_policy.current()
    inboxes = deliveries.inboxes_of(r for r in recipients if policy.allows_url(r.uri))
    if not inboxes:
        return 0
    activity = await as2.documents().person_update_document(actor, now())
    return await deliveries.enqueue(activity, signer=actor, inboxes=inboxes)


async def set_presence(actor: Actor, status: str, note: str, until: datetime | None) -> Actor:
    try:
        presence = Presence(status)
    except ValueError:
        raise InvalidInput("Choose a status from the list.", field="presence") from None
    note = " ".join(note.split())
    if presence == Presence.UNSET:
        note, until = "", None  # "not set" has nothing to explain and nothing to end
    if len(note) > 100:
        raise InvalidInput("Use at most %(max)s characters.", field="presence_note", max=100)
    if until is not None and until <= now():
        raise InvalidInput("Choose an end time in the future.", field="presence_until")
    actor.presence = presence
    actor.presence_note = note
    actor.presence_until = until
    async with in_transaction():  # the presence and its announcement to other servers
        await actor.save(update_fields=["presence", "presence_note", "presence_until"])
        await presence_federation.fanout_presence(actor)
    return actor


def current_presence(actor: Actor) -> Presence:
    """Presence ends by itself at its end time; nobody has to clear it."""
    if actor.presence_until is not None and actor.presence_until <= now():
        return Presence.UNSET
    return Presence(actor.presence)


@dataclass(frozen=True)
class PresenceNow:
    """What a page shows of someone's presence right now."""

    status: Presence
    note: str
    until: datetime | None


def presence_now(actor: Actor) -> PresenceNow | None:
    """The presence to show, or None when it is not set or has ended (note and all)."""
    status = current_presence(actor)
    if status == Presence.UNSET:
        return None
    return PresenceNow(status, actor.presence_note, actor.presence_until)


async def missing_parts(actor: Actor) -> list[str]:
    """What the completeness hint asks for, as field names in the order of the form."""
    missing = [
        name
        for name in ("display_name", "job_title", "team", "location", "bio")
        if not getattr(actor, name)
    ]
    if not actor.photo:
        missing.insert(0, "photo")
    if not await ActorTopic.filter(actor=actor).exists():
        missing.append("topics")
    return missing


async def people(query: str = "", topic: str = "", limit: int = 50) -> list[Actor]:
    """The colleagues directory: filter by a word in name, function or team, or by topic."""
    found = Actor.filter(domain="", account__is_active=True)
    topic = topic.strip()
    if topic:
        name = normalise_tag(topic)
        if name is None:
            raise InvalidInput(
                "A topic is one word of letters, digits or underscores (64 at most).",
                field="topic",
            )
        found = found.filter(topics__tag__name=name)
    words = query.split()[:5]
    for word in (w[:50] for w in words):
        found = found.filter(
            Q(display_name__icontains=word)
            | Q(username__icontains=word)
            | Q(job_title__icontains=word)
            | Q(team__icontains=word)
        )
    return await found.distinct().order_by("display_name", "username").limit(limit)


@dataclass(frozen=True)
class TopicCount:
    name: str
    people: int


async def topic_cloud(limit: int = CLOUD_SIZE) -> list[TopicCount]:
    """The topics colleagues declared, most declared first, counting people the directory lists."""
    rows = (
        await ActorTopic.filter(actor__domain="", actor__account__is_active=True)
        .annotate(people=Count("id"))
        .group_by("tag__name")
        .order_by("-people", "tag__name")
        .limit(limit)
        .values("tag__name", "people")
    )
    return [TopicCount(row["tag__name"], row["people"]) for row in rows]
