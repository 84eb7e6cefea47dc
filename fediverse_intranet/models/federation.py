"""Durable federation state: activities received and deliveries to make.

Both are rows before any HTTP response returns, so a crash or restart loses nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.actors import Actor


class WorkState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # gave up after the retries, or refused for good


class InboxItem(Model):
    """An activity accepted by an inbox (signature checked), waiting for its handler."""

    id = fields.IntField(primary_key=True)
    activity_id = fields.CharField(max_length=512, unique=True)
    activity_type = fields.CharField(max_length=64)
    actor_uri = fields.CharField(max_length=512)
    recipient: fields.ForeignKeyNullableRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="inbox_items", null=True, on_delete=fields.SET_NULL
    )
    recipient_id: int | None
    body = fields.TextField()
    state = fields.CharEnumField(WorkState, max_length=16, default=WorkState.PENDING)
    attempts = fields.IntField(default=0)
    error = fields.TextField(default="")
    received_at = fields.DatetimeField(auto_now_add=True)
    # The queue's columns, as a delivery's (``services.work_queue``): not before, leased until.
    next_attempt_at = fields.DatetimeField(null=True)
    claimed_until = fields.DatetimeField(null=True)
    processed_at = fields.DatetimeField(null=True)  # when it was done or failed

    class Meta:
        table = "inbox_item"
        indexes = (("state", "id"),)


class Delivery(Model):
    """One activity to POST to one inbox, with its retry state."""

    id = fields.IntField(primary_key=True)
    activity_id = fields.CharField(max_length=512)
    body = fields.TextField()
    inbox_url = fields.CharField(max_length=512)
    host = fields.CharField(max_length=255)
    signer: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="deliveries", on_delete=fields.CASCADE
    )
    signer_id: int
    state = fields.CharEnumField(WorkState, max_length=16, default=WorkState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery"
        unique_together = (("activity_id", "inbox_url"),)
        indexes = (("state", "next_attempt_at"), ("host", "state"))


class DeliveryHost(Model):
    """A remote server's health: hosts that keep failing rest before they are tried again."""

    host = fields.CharField(max_length=255, primary_key=True)
    failures = fields.IntField(default=0)
    unavailable_until = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_host"
