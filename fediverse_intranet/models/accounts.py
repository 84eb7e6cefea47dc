"""Local sign-in accounts, invitations, password resets, sessions and login throttling."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.actors import Actor


class Role(StrEnum):
    MEMBER = "member"
    COMMUNICATIONS = "communications"  # may pin organisation news
    ADMIN = "admin"


class Account(Model):
    id = fields.IntField(primary_key=True)
    actor: fields.OneToOneRelation[Actor] = fields.OneToOneField(
        "models.Actor", related_name="account", on_delete=fields.CASCADE
    )
    actor_id: int
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    is_active = fields.BooleanField(default=True)
    locale = fields.CharField(max_length=8, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def may_pin_news(self) -> bool:
        return self.role in {Role.ADMIN, Role.COMMUNICATIONS}


class Invitation(Model):
    """A single-use link an admin hands to a colleague. Only the token's hash is stored."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254, default="")
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    created_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="invitations", on_delete=fields.CASCADE
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="used_invitation", null=True, on_delete=fields.SET_NULL
    )
    used_by_id: int | None

    class Meta:
        table = "invitation"


class PasswordReset(Model):
    """An admin-issued, single-use, short-lived link to set a new password."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="password_resets", on_delete=fields.CASCADE
    )
    account_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset"


class WebSession(Model):
    """A server-side session, so logout and password changes really end it."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    account_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "web_session"


class LoginFailure(Model):
    """One failed sign-in. Recent rows per name and per address throttle guessing."""

    id = fields.IntField(primary_key=True)
    login = fields.CharField(max_length=254, db_index=True)
    address = fields.CharField(max_length=64, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "login_failure"
