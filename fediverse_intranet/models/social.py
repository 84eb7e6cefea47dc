"""Who follows whom and what, what people mute, and pinned organisation news."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.accounts import Account
    from fediverse_intranet.models.actors import Actor
    from fediverse_intranet.models.posts import Post, Tag


class Follow(Model):
    id = fields.IntField(primary_key=True)
    follower: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="following", on_delete=fields.CASCADE
    )
    follower_id: int
    followee: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="followers", on_delete=fields.CASCADE
    )
    followee_id: int
    accepted = fields.BooleanField(default=True)
    uri = fields.CharField(max_length=512, default="", db_default="")  # the Follow activity's id
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follow"
        unique_together = (("follower", "followee"),)
        indexes = (("followee_id", "follower_id"),)


class TagFollow(Model):
    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="tag_follows", on_delete=fields.CASCADE
    )
    actor_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="followers", on_delete=fields.CASCADE
    )
    tag_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tag_follow"
        unique_together = (("actor", "tag"),)


class MuteKind(StrEnum):
    WORD = "word"
    TAG = "tag"
    ACTOR = "actor"


class Mute(Model):
    """Something a person does not want in their timelines: a word, a tag or a person."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="mutes", on_delete=fields.CASCADE
    )
    owner_id: int
    kind = fields.CharEnumField(MuteKind, max_length=8)
    value = fields.CharField(max_length=100, default="")
    target: fields.ForeignKeyNullableRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="muted_by", null=True, on_delete=fields.CASCADE
    )
    target_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mute"
        unique_together = (("owner", "kind", "value"),)


class Announcement(Model):
    """A post pinned as organisation news by an admin or communications officer."""

    id = fields.IntField(primary_key=True)
    post: fields.OneToOneRelation[Post] = fields.OneToOneField(
        "models.Post", related_name="announcement", on_delete=fields.CASCADE
    )
    post_id: int
    pinned_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="announcements", on_delete=fields.CASCADE
    )
    pinned_by_id: int
    pinned_at = fields.DatetimeField(auto_now_add=True)
    until = fields.DatetimeField(null=True)

    class Meta:
        table = "announcement"


class Block(Model):
    """A remote person blocks one of ours: no follows either way, nothing delivered to them."""

    id = fields.IntField(primary_key=True)
    blocker: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="blocking", on_delete=fields.CASCADE
    )
    blocker_id: int
    target: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="blocked_by", on_delete=fields.CASCADE
    )
    target_id: int
    uri = fields.CharField(max_length=512, default="")  # the Block activity's id
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "actor_block"
        unique_together = (("blocker", "target"),)


class Report(Model):
    """A complaint for the moderators' queue: from a remote server (``Flag``) or a colleague.

    ``post_uris`` is a JSON list of the reported posts' ids, as the reporter named them.
    """

    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=512, default="")  # the Flag activity's id, if remote
    reporter: fields.ForeignKeyNullableRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="reports_made", null=True, on_delete=fields.SET_NULL
    )
    reporter_id: int | None
    origin = fields.CharField(max_length=255, default="")  # the reporting server's host
    target: fields.ForeignKeyNullableRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="reports_about", null=True, on_delete=fields.CASCADE
    )
    target_id: int | None
    post_uris = fields.TextField(default="[]")
    comment = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="reports_resolved", null=True, on_delete=fields.SET_NULL
    )
    resolved_by_id: int | None

    class Meta:
        table = "report"
        indexes = (("resolved_at", "id"), ("uri",))
