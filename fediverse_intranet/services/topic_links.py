"""Admins merge topics: a synonym counts as its canonical topic, a related topic is found
with less weight (``services.expertise``). Each change rescores the people it touches."""

from __future__ import annotations

from fediverse_intranet.content import normalise_tag
from fediverse_intranet.errors import Conflict, InvalidInput, NotFound
from fediverse_intranet.models import Actor, ActorTopic, PostTag, Tag, TopicLink, TopicLinkKind
from fediverse_intranet.services import expertise


def _name(text: str, field: str) -> str:
    name = normalise_tag(text.strip()[:100])
    if name is None:
        raise InvalidInput(
            "A topic is one word of letters, digits or underscores (64 at most).", field=field
        )
    return name


async def links() -> list[TopicLink]:
    return await TopicLink.all().select_related("tag", "canonical").order_by("canonical__name")


async def link(tag_text: str, canonical_text: str, kind: str) -> TopicLink:
    """Merge ``tag`` into ``canonical`` (synonym) or mark them related.

    Refused: a topic linked to itself, a link that exists, and chains (a synonym of a
    synonym, or a canonical topic that is itself a synonym), so one step always resolves.
    """
    try:
        link_kind = TopicLinkKind(kind)
    except ValueError:
        raise InvalidInput("Choose a kind from the list.", field="kind") from None
    name, canonical_name = _name(tag_text, "tag"), _name(canonical_text, "canonical")
    if name == canonical_name:
        raise InvalidInput("Choose two different topics.", field="canonical")
    tag, _ = await Tag.get_or_create(name=name)
    canonical, _ = await Tag.get_or_create(name=canonical_name)
    if (
        await TopicLink.filter(tag_id__in=(tag.id, canonical.id))
        .filter(canonical_id__in=(tag.id, canonical.id))
        .exists()
    ):
        raise Conflict("These topics are linked already.", field="tag")
    synonyms = await expertise.synonyms()
    if link_kind == TopicLinkKind.SYNONYM and (
        tag.id in synonyms or canonical.id in synonyms or tag.id in synonyms.values()
    ):
        raise Conflict(
            "One of these topics is merged already: link to the main topic instead.",
            field="tag",
        )
    created = await TopicLink.create(tag=tag, canonical=canonical, kind=link_kind)
    await _rescore_touching(tag.id, canonical.id)
    return created


async def unlink(link_id: int) -> None:
    found = await TopicLink.get_or_none(id=link_id)
    if found is None:
        raise NotFound("This link does not exist.")
    await found.delete()
    await _rescore_touching(found.tag_id, found.canonical_id)


async def _rescore_touching(*tag_ids: int) -> None:
    """Everyone with evidence on these topics: declared, posted or already scored."""
    ids = set(await ActorTopic.filter(tag_id__in=tag_ids).values_list("actor_id", flat=True))
    ids |= set(await PostTag.filter(tag_id__in=tag_ids).values_list("post__author_id", flat=True))
    ids |= set(
        await expertise.ExpertiseScore.filter(tag_id__in=tag_ids).values_list("actor_id", flat=True)
    )
    for actor in await Actor.filter(id__in=ids, kind="person"):
        await expertise.rescore(actor)
