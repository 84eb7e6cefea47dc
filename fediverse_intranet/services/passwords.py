"""Password hashing with argon2, run in a thread so the event loop keeps serving."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fediverse_intranet.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256
_hasher = PasswordHasher()


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput("Use at least %(min)s characters.", field="password", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise InvalidInput("Use at most %(max)s characters.", field="password", max=MAX_LENGTH)


async def hash_password(password: str) -> str:
    check_strength(password)
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(verify)


# Checked when the account does not exist: a wrong name costs as long as a wrong password.
DUMMY_HASH = _hasher.hash("not a real password, only for timing")
