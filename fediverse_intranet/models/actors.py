"""People, local or (from the federation issue on) remote, with their expertise profile."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.posts import Tag


class Presence(StrEnum):
    UNSET = ""
    OFFICE = "office"
    ELSEWHERE = "elsewhere"
    BUSY = "busy"
    AWAY = "away"


class Actor(Model):
    """Someone who can post and be followed. ``domain`` is empty for people of this instance."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64)
    # "person" or "group" (groups share the handle space: @omgevingswet@gov-a.example)
    kind = fields.CharField(max_length=16, default="person", db_default="person")
    domain = fields.CharField(max_length=255, default="", db_default="")
    uri = fields.CharField(max_length=512, unique=True)
    display_name = fields.CharField(max_length=100, default="")
    bio = fields.TextField(default="")
    job_title = fields.CharField(max_length=100, default="")
    team = fields.CharField(max_length=100, default="")
    location = fields.CharField(max_length=100, default="")
    contact = fields.CharField(max_length=200, default="")
    photo = fields.CharField(max_length=100, default="")
    presence = fields.CharEnumField(Presence, max_length=16, default=Presence.UNSET)
    presence_note = fields.CharField(max_length=100, default="")
    presence_until = fields.DatetimeField(null=True)
    # Federation: where to deliver and which key signs. Remote actors have these from their
    # JSON; local actors get a key pair when they are first needed.
    inbox_url = fields.CharField(max_length=512, default="", db_default="")
    shared_inbox_url = fields.CharField(max_length=512, default="", db_default="")
    outbox_url = fields.CharField(max_length=512, default="", db_default="")
    followers_url = fields.CharField(max_length=512, default="", db_default="")
    profile_url = fields.CharField(max_length=512, default="", db_default="")
    public_key_pem = fields.TextField(default="", db_default="")
    private_key_pem = fields.TextField(default="", db_default="")
    fetched_at = fields.DatetimeField(null=True)
    # Consent to be found beyond this instance (Mastodon's ``indexable``, FEP-5feb).
    indexable = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    topics: fields.ReverseRelation[ActorTopic]

    class Meta:
        table = "actor"
        unique_together = (("username", "domain"),)
        indexes = (("photo",),)  # /media/{name} finds whose photo it is

    @property
    def is_group(self) -> bool:
        return self.kind == "group"

    @property
    def is_local(self) -> bool:
        return not self.domain

    @property
    def handle(self) -> str:
        """How its pages are addressed: ``username`` here, ``username@domain`` elsewhere."""
        return f"{self.username}@{self.domain}" if self.domain else self.username

    @property
    def name(self) -> str:
        return self.display_name or self.username


class ActorTopic(Model):
    """An expertise topic a person declares on their profile (a normalised tag)."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="topics", on_delete=fields.CASCADE
    )
    actor_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="experts", on_delete=fields.CASCADE
    )
    tag_id: int
    level = fields.IntField(default=0, db_default=0)  # self-assessed: 0 unsaid, 1-3

    class Meta:
        table = "actor_topic"
        unique_together = (("actor", "tag"),)
