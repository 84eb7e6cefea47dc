"""Knowledge communities (groups): organisational units, projects and themes, here or hosted
by another instance, with their members.

A group is an ``Actor`` (its handle, name, description, photo and topics live there, and it
federates as an ActivityPub ``Group``); this table adds what only groups have.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.actors import Actor


class GroupKind(StrEnum):
    UNIT = "unit"  # an organisational unit: a team, department or directorate
    PROJECT = "project"  # temporary: archived read-only after its end date
    THEME = "theme"  # a thematic community, often across government bodies


class GroupAccess(StrEnum):
    OPEN = "open"  # anyone may join at once, content is public
    CLOSED = "closed"  # joining needs approval, content is for members only
    SECRET = "secret"  # noqa: S105 (not a password) as closed, unlisted: by invitation only


class Group(Model):
    id = fields.IntField(primary_key=True)
    actor: fields.OneToOneRelation[Actor] = fields.OneToOneField(
        "models.Actor", related_name="group", on_delete=fields.CASCADE
    )
    actor_id: int
    kind = fields.CharEnumField(GroupKind, max_length=16, default=GroupKind.THEME)
    access = fields.CharEnumField(GroupAccess, max_length=16, default=GroupAccess.OPEN)
    ends_on = fields.DateField(null=True)  # projects: archived after this day
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "community"

    @property
    def members_only(self) -> bool:
        return self.access != GroupAccess.OPEN


class MemberRole(StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"


class MemberState(StrEnum):
    INVITED = "invited"  # asked by a moderator, not yet accepted by the person
    PENDING = "pending"  # asked by the person, waiting for a moderator
    MEMBER = "member"
    BANNED = "banned"  # may not join again nor post


class Membership(Model):
    """A person (here or elsewhere) in a group (here or elsewhere). For a remote person in a
    group of ours, or one of ours in a remote group, ``uri`` is the Follow activity's id."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "models.Group", related_name="memberships", on_delete=fields.CASCADE
    )
    group_id: int
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="memberships", on_delete=fields.CASCADE
    )
    actor_id: int
    role = fields.CharEnumField(MemberRole, max_length=16, default=MemberRole.MEMBER)
    state = fields.CharEnumField(MemberState, max_length=16, default=MemberState.MEMBER)
    uri = fields.CharField(max_length=512, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "membership"
        unique_together = (("group", "actor"),)
        indexes = (("actor_id", "state"), ("group_id", "state", "role"))
