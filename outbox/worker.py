"""The background worker: inside ``serve`` by default, or alone as ``fediverse-intranet worker``.

Two loops share it: housekeeping, which keeps tables small (ended sessions, stale login
failures, expired links) and archives projects past their end date, and the delivery
loop, which drains the durable delivery queue: claim due deliveries (``outbox.claims``),
send them concurrently (``outbox.deliver``), repeat. Any number of these workers may run
against one database; claims keep them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from activitypub.fetch import Fetcher
from fediverse_intranet.models import Invitation, LoginFailure, PasswordReset, WebSession
from fediverse_intranet.services import expertise, groups, remote_client, remote_directory
from fediverse_intranet.services.clock import now
from outbox import claims
from outbox.deliver import MAX_IN_FLIGHT, PER_HOST, Deliverer

log = logging.getLogger(__name__)
HOUSEKEEPING_EVERY = 300.0
# With nothing due, look again this often: retries fall due and other processes enqueue
# without telling us. ``wake()`` cuts the wait short in the process that enqueued.
IDLE_WAIT = 0.5
SHUTDOWN_GRACE = 10.0

_nudges: set[asyncio.Event] = set()


def wake() -> None:
    """Tell the delivery loops of this process that new deliveries are queued.

    Optional: without it they find them within ``IDLE_WAIT``. Call it from the event loop
    (after the transaction that enqueued has committed).
    """
    for nudge in _nudges:
        nudge.set()


async def housekeeping() -> dict[str, int]:
    """Delete what has expired and archive projects that ended; returns how many rows of
    each kind went (or were archived)."""
    current = now()
    return {
        "sessions": await WebSession.filter(expires_at__lte=current).delete(),
        "login_failures": await LoginFailure.filter(
            created_at__lte=current - timedelta(days=1)
        ).delete(),
        "invitations": await Invitation.filter(used_at=None, expires_at__lte=current).delete(),
        "password_resets": await PasswordReset.filter(expires_at__lte=current).delete(),
        "groups_archived": await groups.archive_due(),  # projects past their end date
        # people who posted, were appreciated or changed groups lately, and the oldest scores
        "expertise_rescored": await expertise.refresh(current - timedelta(hours=1)),
        # consenting people elsewhere whose copy is a day old: topics and presence stay fresh
        "remote_profiles_refreshed": await remote_directory.refresh_stale(),
    }


async def housekeeping_loop(stop: asyncio.Event, interval: float = HOUSEKEEPING_EVERY) -> None:
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


async def delivery_loop(
    stop: asyncio.Event,
    *,
    fetcher: Fetcher | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
    per_host: int = PER_HOST,
    lease: timedelta = claims.DEFAULT_LEASE,
    idle_wait: float = IDLE_WAIT,
    grace: float = SHUTDOWN_GRACE,
) -> Deliverer:
    """Claim, send, repeat until ``stop``; then finish or release what is in flight.

    Returns the ``Deliverer`` (its ``counts`` say what happened), for tests and benchmarks.
    """
    nudge = asyncio.Event()
    deliverer = Deliverer(
        fetcher, max_in_flight=max_in_flight, per_host=per_host, on_room=nudge.set
    )
    watcher = asyncio.create_task(_relay(stop, nudge))
    _nudges.add(nudge)
    try:
        while not stop.is_set():
            nudge.clear()
            wanted = deliverer.free if deliverer.free >= deliverer.refill else 0
            if wanted:
                try:
                    await deliverer.submit(await claims.claim(wanted, lease))
                except Exception:  # the database may be restarting: try again shortly
                    log.exception("delivery: claiming failed")
            # Took all it asked for: wait for room (``on_room``). Took less: the queue has
            # nothing more due; wait for new work. Either way, look again after idle_wait.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(nudge.wait(), timeout=idle_wait)
    finally:
        _nudges.discard(nudge)
        watcher.cancel()
        await deliverer.close(grace)
    return deliverer


async def _relay(stop: asyncio.Event, nudge: asyncio.Event) -> None:
    await stop.wait()
    nudge.set()


async def run(
    stop: asyncio.Event, interval: float = HOUSEKEEPING_EVERY, *, deliveries: bool = True
) -> None:
    """Run housekeeping and (unless ``deliveries`` is false) the delivery loop until ``stop``.

    The delivery loop sends with the process's shared client, which is closed at the end.
    """
    loops = [housekeeping_loop(stop, interval)]
    if deliveries:
        loops.append(_delivery_loop_logged(stop))
    try:
        await asyncio.gather(*loops)
    finally:
        if deliveries:
            await remote_client.close()


async def _delivery_loop_logged(stop: asyncio.Event) -> None:
    """The delivery loop, restarted after an unexpected error rather than lost."""
    while not stop.is_set():
        try:
            await delivery_loop(stop)
        except Exception:
            log.exception("delivery loop failed; restarting")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
