"""The inbound queue: claim stored activities, run their handler, record the outcome.

The queue mechanism is the one deliveries use (``services.work_queue``): a claim leases
items (``claimed_until``) and counts the attempt, so several workers share the queue and a
crashed worker's items are taken again when the lease runs out; a failure worth retrying
sets ``next_attempt_at`` by the back-off schedule. Processing is therefore at least once,
and handlers are written to be repeatable. ``processed_at`` says when an item was done or
failed.

Outcomes: done (handled, or deliberately ignored: ``error`` then starts with "ignored:"),
pending again after a transient error (an unreachable server), or failed for good (invalid,
or out of attempts). A handler's error never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from activitypub.parse_activity import Activity, ActivityError, read_activity
from fediverse_intranet.models import Actor, InboxItem, WorkState
from fediverse_intranet.services import clock, federation_policy, remote_actors
from fediverse_intranet.services.remote_actors import RemoteActorError
from fediverse_intranet.services.work_queue import DEFAULT_LEASE, WorkQueue
from inbox.handlers import (
    HandlerError,
    Ignored,
    Inbound,
    accept,
    announce,
    block,
    collection,
    flag,
    follow,
    like,
    person,
    post,
    status,
    undo,
)

log = logging.getLogger(__name__)

Handler = Callable[[Inbound], Awaitable[None]]

# One entry per activity type we act on. An Undo is keyed by what it undoes ("Undo/?" when
# that cannot be told); an Update or Delete by whether it is about the sender itself.
HANDLERS: dict[str, Handler] = {
    "Follow": follow.handle_follow,
    "Undo/Follow": follow.handle_undo_follow,
    "Accept": accept.handle_accept,
    "Reject": accept.handle_reject,
    "Create": post.handle_create,
    "Update/Post": post.handle_update,
    "Delete/Post": post.handle_delete,
    "Update/Actor": person.handle_update,
    "Delete/Actor": person.handle_delete,
    "Like": like.handle_like,
    "Undo/Like": like.handle_undo_like,
    "Announce": announce.handle_announce,
    "Undo/Announce": announce.handle_undo_announce,
    "Block": block.handle_block,
    "Undo/Block": block.handle_undo_block,
    "Flag": flag.handle_flag,
    "Undo/?": undo.handle_undo_unknown,
    "Create/ActorStatus": status.handle_create,
    "Remove/ActorStatus": status.handle_clear,
    "Delete/ActorStatus": status.handle_clear,
    "Add": collection.handle_own_collection,
    "Remove": collection.handle_own_collection,
}

BATCH = 100
LEASE = DEFAULT_LEASE
POLL_INTERVAL = 1.0  # seconds between looks at an empty queue
# Delay after the n-th failed attempt (BACKOFF[n - 1]); after the last one the item fails.
BACKOFF: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
MAX_ERROR = 1000

# Oldest first; an item that arrived has no next_attempt_at until a failure sets one.
QUEUE = WorkQueue(
    table="inbox_item",
    columns=("id",),
    backoff=BACKOFF,
    lease=LEASE,
    due="t.next_attempt_at IS NULL OR t.next_attempt_at <= :now",
    order="t.id",
)
MAX_ATTEMPTS = QUEUE.max_attempts


async def run(stop: asyncio.Event, interval: float = POLL_INTERVAL) -> None:
    """Process the queue until ``stop`` is set; a failed round is logged and the next runs."""
    while not stop.is_set():
        try:
            handled = await process_pending_once()
        except Exception:  # the database went away for a moment, say: keep the worker alive
            log.exception("inbox round failed")
            handled = 0
        if handled < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def process_pending_once(limit: int = BATCH) -> int:
    """Claim up to ``limit`` ready items and process them; returns how many were claimed.

    One sender's activities are handled in the order they came (a Create before its
    Update); different senders' side by side, so one item's database round trips overlap
    another's work. Each sender is looked up once a batch, and the items that went well are
    recorded together at the end (a crash before that means handling them again, which
    handlers allow)."""
    items = await claim(limit)
    try:
        return await _process_all(items)
    except asyncio.CancelledError:  # stopped mid-round: what is not recorded goes back
        await asyncio.shield(release(items))
        raise


async def _process_all(items: list[InboxItem]) -> int:
    by_sender: dict[str, list[InboxItem]] = {}
    for item in items:
        by_sender.setdefault(item.actor_uri, []).append(item)
    senders: dict[str, Actor] = {}
    done: dict[tuple[str, int], list[int]] = {}

    async def in_order(queue: list[InboxItem]) -> None:
        for item in queue:
            note = await _process(item, senders)
            if note is not None:
                done.setdefault((note[:MAX_ERROR], item.attempts), []).append(item.id)

    await asyncio.gather(*(in_order(queue) for queue in by_sender.values()))
    finished = clock.now()
    for (note, attempts), ids in done.items():
        # ``attempts`` guards against a worker whose lease ran out and whose item was taken
        # again meanwhile.
        await QUEUE.settle(
            ids, attempts, state=WorkState.DONE.value, error=note, processed_at=finished
        )
    return len(items)


async def claim(
    limit: int, *, lease: timedelta | None = None, now: datetime | None = None
) -> list[InboxItem]:
    """Lease up to ``limit`` ready items to this worker, oldest first."""
    ids = [row["id"] for row in await QUEUE.claim(limit, lease=lease, now=now)]
    return await InboxItem.filter(id__in=ids).order_by("id") if ids else []


async def release(items: list[InboxItem]) -> int:
    """Give claimed items back unprocessed (a worker stopping); their attempt is not used up.
    Items already recorded are not pending and leased any more, so they stay as recorded."""
    return await QUEUE.release(item.id for item in items)


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None to give up."""
    return QUEUE.retry_at(max(attempts, 1), now)


async def _process(item: InboxItem, senders: dict[str, Actor]) -> str | None:
    """Handle one item; its note when it is done, None when its failure was recorded."""
    exhausted = QUEUE.exhausted(item.attempts)
    if exhausted is not None:
        await _finish(item, WorkState.FAILED, exhausted)
        return None
    try:
        return await _handle(item, senders)
    except HandlerError as exc:
        await _failed(item, exc.reason, retry=exc.retry)
    except Exception as exc:  # a bug or a database hiccup: retried, then failed
        log.exception("inbox item %s (%s) failed", item.id, item.activity_id)
        await _failed(item, f"{type(exc).__name__}: {exc}", retry=True)
    return None


async def _handle(item: InboxItem, senders: dict[str, Actor]) -> str:
    """Run the item's handler; returns the note to keep ("" or "ignored: why")."""
    try:
        activity = read_activity(item.body)
    except ActivityError as exc:
        raise HandlerError(f"unreadable: {exc.reason}") from None
    if not await federation_policy.allows_url(activity.actor):
        return "ignored: this server is blocked here"  # blocked after the item arrived
    handler = await _handler_for(activity)
    if handler is None:
        return f"ignored: {activity.type} is not handled"
    sender = senders.get(activity.actor)
    if sender is None:
        try:
            sender = await remote_actors.resolve_actor(activity.actor)
        except RemoteActorError as exc:
            raise HandlerError(exc.reason, retry=exc.retry) from None
        senders[activity.actor] = sender
    recipient = None
    if item.recipient_id is not None:
        recipient = await Actor.filter(id=item.recipient_id).first()
    try:
        await handler(Inbound(activity, sender, recipient))
    except Ignored as exc:
        return f"ignored: {exc.reason}"
    return ""


async def _handler_for(activity: Activity) -> Handler | None:
    if activity.object is not None and activity.object.type == status.STATUS_TYPE:
        return HANDLERS.get(f"{activity.type}/{status.STATUS_TYPE}")
    if activity.type in ("Update", "Delete"):
        about_self = activity.object is not None and activity.object.id == activity.actor
        return HANDLERS.get(f"{activity.type}/{'Actor' if about_self else 'Post'}")
    if activity.type != "Undo":
        return HANDLERS.get(activity.type)
    undone = activity.object.type if activity.object else None
    if undone is None and activity.object is not None and activity.object.id is not None:
        # Undo by id alone: what it undoes is the activity of that id we received.
        stored = await InboxItem.filter(
            activity_id=activity.object.id, actor_uri=activity.actor
        ).values_list("activity_type", flat=True)
        undone = str(stored[0]) if stored else "?"
    return HANDLERS.get(f"Undo/{undone}") if undone else None


async def _failed(item: InboxItem, reason: str, *, retry: bool) -> None:
    when = retry_at(item.attempts, clock.now()) if retry else None
    if when is None:
        log.info("inbox item %s failed: %s", item.id, reason)
        await _finish(item, WorkState.FAILED, reason)
        return
    await QUEUE.settle([item.id], item.attempts, error=reason[:MAX_ERROR], next_attempt_at=when)


async def _finish(item: InboxItem, state: WorkState, note: str) -> None:
    await QUEUE.settle(
        [item.id],
        item.attempts,
        state=state.value,
        error=note[:MAX_ERROR],
        processed_at=clock.now(),
    )
