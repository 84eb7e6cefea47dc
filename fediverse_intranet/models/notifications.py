"""What a person is told about: mentions, replies, appreciations, new followers, and in
groups join requests (to moderators) and invitations. For the group kinds ``actor`` is the
group."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.actors import Actor
    from fediverse_intranet.models.posts import Post


class NotificationKind(StrEnum):
    MENTION = "mention"
    REPLY = "reply"
    LIKE = "like"
    FOLLOW = "follow"
    BOOST = "boost"
    GROUP_REQUEST = "group_request"  # someone asks to join a group you moderate
    GROUP_INVITE = "group_invite"  # you are invited to a group


class Notification(Model):
    id = fields.IntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="notifications", on_delete=fields.CASCADE
    )
    recipient_id: int
    kind = fields.CharEnumField(NotificationKind, max_length=16)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="caused", on_delete=fields.CASCADE
    )
    actor_id: int
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("recipient_id", "read_at"), ("recipient_id", "id"))
