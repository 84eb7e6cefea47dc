"""Endorsements: a colleague here vouches that someone here knows about one of their topics.

Only local people endorse and are endorsed (a remote profile's topics are theirs to state),
only topics the person declared, and never oneself. Each change rescores the person.
"""

from __future__ import annotations

from dataclasses import dataclass

from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import Actor, ActorTopic, Endorsement, Tag
from fediverse_intranet.services import expertise


async def _topic(person: Actor, name: str) -> Tag:
    tag = await Tag.get_or_none(name=name)
    if tag is None or not await ActorTopic.filter(actor_id=person.id, tag_id=tag.id).exists():
        raise NotFound("%(name)s does not list this topic.", name=person.name)
    return tag


def _check(endorser: Actor, person: Actor) -> None:
    if endorser.id == person.id:
        raise InvalidInput("You cannot endorse yourself.")
    if not (endorser.is_local and person.is_local) or person.is_group:
        raise PermissionDenied("Only colleagues here can be endorsed.")


async def endorse(endorser: Actor, person: Actor, topic: str) -> bool:
    """Vouch for ``person`` on ``topic``; True when it is new (endorsing twice is no error)."""
    _check(endorser, person)
    tag = await _topic(person, topic)
    _, created = await Endorsement.get_or_create(endorser=endorser, person=person, tag=tag)
    if created:
        await expertise.rescore(person)
    return created


async def withdraw(endorser: Actor, person: Actor, topic: str) -> bool:
    """Take an endorsement back; True when there was one."""
    _check(endorser, person)
    tag = await Tag.get_or_none(name=topic)
    if tag is None:
        return False
    removed = await Endorsement.filter(endorser=endorser, person=person, tag=tag).delete()
    if removed:
        await expertise.rescore(person)
    return bool(removed)


@dataclass(frozen=True)
class TopicEndorsements:
    """One topic on a profile: its level, how many endorse it, whether the viewer does."""

    name: str
    level: int
    count: int
    mine: bool


async def on_profile(person: Actor, viewer: Actor) -> list[TopicEndorsements]:
    rows = await ActorTopic.filter(actor_id=person.id).select_related("tag").order_by("tag__name")
    given = await Endorsement.filter(person_id=person.id).values_list("tag_id", "endorser_id")
    counts: dict[int, int] = {}
    mine: set[int] = set()
    for tag_id, endorser_id in given:
        counts[tag_id] = counts.get(tag_id, 0) + 1
        if endorser_id == viewer.id:
            mine.add(tag_id)
    return [
        TopicEndorsements(row.tag.name, row.level, counts.get(row.tag_id, 0), row.tag_id in mine)
        for row in rows
    ]
