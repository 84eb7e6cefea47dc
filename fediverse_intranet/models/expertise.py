"""Who knows what: endorsements by colleagues, topics an admin merged, and the score per
person per topic that the expertise finder ranks by (kept up to date from the evidence)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.actors import Actor
    from fediverse_intranet.models.posts import Tag


class Endorsement(Model):
    """A colleague vouches that ``person`` knows about ``tag``."""

    id = fields.IntField(primary_key=True)
    endorser: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="endorsements_given", on_delete=fields.CASCADE
    )
    endorser_id: int
    person: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="endorsements", on_delete=fields.CASCADE
    )
    person_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="endorsements", on_delete=fields.CASCADE
    )
    tag_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "endorsement"
        unique_together = (("endorser", "person", "tag"),)
        indexes = (("person_id", "tag_id"),)


class TopicLinkKind(StrEnum):
    SYNONYM = "synonym"  # the same topic under another name: counted as the canonical one
    RELATED = "related"  # a neighbouring topic: found too, with less weight


class TopicLink(Model):
    """An admin's merge of topics: ``tag`` is a synonym of, or related to, ``canonical``."""

    id = fields.IntField(primary_key=True)
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="links", on_delete=fields.CASCADE
    )
    tag_id: int
    canonical: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="linked", on_delete=fields.CASCADE
    )
    canonical_id: int
    kind = fields.CharEnumField(TopicLinkKind, max_length=16, default=TopicLinkKind.SYNONYM)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "topic_link"
        unique_together = (("tag", "canonical"),)


class ExpertiseScore(Model):
    """A person's score on a topic, with the evidence that makes it (for "why this person").

    Recomputed from the evidence (services.expertise); never edited by hand.
    """

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="expertise", on_delete=fields.CASCADE
    )
    actor_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="expertise", on_delete=fields.CASCADE
    )
    tag_id: int
    score = fields.FloatField(default=0.0)
    declared_level = fields.IntField(default=0)  # 0 not declared, 1-3 as the person says
    endorsements = fields.IntField(default=0)
    posts = fields.IntField(default=0)
    appreciations = fields.IntField(default=0)
    answers = fields.IntField(default=0)  # accepted answers, once questions exist
    groups = fields.IntField(default=0)  # member of groups on the topic
    moderates = fields.IntField(default=0)  # moderator or owner of groups on the topic
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "expertise_score"
        unique_together = (("actor", "tag"),)
        indexes = (("tag_id", "score"),)
