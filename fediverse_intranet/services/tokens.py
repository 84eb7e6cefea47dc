"""Secret tokens for links and sessions: the person gets the token, the database its hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """A database leak must not hand out working invitation, reset or session links."""
    return hashlib.sha256(token.encode()).hexdigest()
