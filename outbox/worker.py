"""The background worker: inside ``serve`` by default, or alone as ``fediverse-intranet worker``.

Today it does the housekeeping that keeps tables small (ended sessions, stale login failures,
expired links). The federation issue adds the durable delivery queue to the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from fediverse_intranet.models import Invitation, LoginFailure, PasswordReset, WebSession
from fediverse_intranet.services.clock import now

log = logging.getLogger(__name__)
HOUSEKEEPING_EVERY = 300.0


async def housekeeping() -> dict[str, int]:
    """Delete what has expired; returns how many rows of each kind went."""
    current = now()
    return {
        "sessions": await WebSession.filter(expires_at__lte=current).delete(),
        "login_failures": await LoginFailure.filter(
            created_at__lte=current - timedelta(days=1)
        ).delete(),
        "invitations": await Invitation.filter(used_at=None, expires_at__lte=current).delete(),
        "password_resets": await PasswordReset.filter(expires_at__lte=current).delete(),
    }


async def run(stop: asyncio.Event, interval: float = HOUSEKEEPING_EVERY) -> None:
    """Loop until ``stop`` is set; an error in one round is logged and the next round runs."""
    while not stop.is_set():
        try:
            removed = await housekeeping()
            if any(removed.values()):
                log.info("housekeeping removed %s", removed)
        except Exception:  # a bad round must not end the worker
            log.exception("housekeeping failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
