"""Notifications: what happened that concerns a person, and how much of it is unread."""

from __future__ import annotations

from fediverse_intranet.models import Actor, Notification, NotificationKind, Post
from fediverse_intranet.services import sql
from fediverse_intranet.services.clock import now

PAGE_SIZE = 30


async def notify(recipient: Actor, kind: NotificationKind, actor: Actor, post: Post | None) -> None:
    if recipient.is_local and recipient.id != actor.id:
        await sql.insert(
            Notification,
            recipient_id=recipient.id,
            kind=kind.value,
            actor_id=actor.id,
            post_id=post.id if post is not None else None,
            created_at=now(),
        )


async def notify_many(
    news: list[tuple[Actor, NotificationKind]], actor: Actor, post: Post | None
) -> None:
    """What one post means to each person it names (a reply, a mention), written in ONE
    statement inside the post's transaction, which holds SQLite's only writer: a post names
    up to 50 people, and 50 INSERTs took 50 round trips. Remote and own recipients are left
    out, as :func:`notify` leaves them out; so is a second piece of news for one person."""
    seen: set[int] = set()
    rows = []
    moment = now()
    for recipient, kind in news:
        if recipient.is_local and recipient.id != actor.id and recipient.id not in seen:
            seen.add(recipient.id)
            post_id = post.id if post is not None else None
            rows.append((recipient.id, kind.value, actor.id, post_id, moment))
    await sql.insert_rows(
        Notification, ("recipient_id", "kind", "actor_id", "post_id", "created_at"), rows
    )


async def notify_once(post: Post, kind: NotificationKind, actor: Actor) -> None:
    """Tell a post's author once per person and kind: an appreciation or boost taken back
    and given again is no news."""
    if not await Notification.filter(kind=kind, actor=actor, post=post).exists():
        await notify(post.author, kind, actor, post)


async def notify_unread_once(recipient: Actor, kind: NotificationKind, actor: Actor) -> None:
    """Tell someone once until they read it: ten join requests to a group are one piece of
    news for its moderators, not ten."""
    if not await Notification.filter(
        recipient_id=recipient.id, kind=kind, actor_id=actor.id, read_at=None
    ).exists():
        await notify(recipient, kind, actor, None)


async def unread_count(recipient: Actor) -> int:
    return await Notification.filter(recipient=recipient, read_at=None).count()


async def page(recipient: Actor, before: int | None = None) -> list[Notification]:
    query = Notification.filter(recipient=recipient)
    if before:
        query = query.filter(id__lt=before)
    return await query.select_related("actor", "post").order_by("-id").limit(PAGE_SIZE)


async def mark_all_read(recipient: Actor, up_to: int | None = None) -> int:
    """Mark read what the person saw: with ``up_to``, what arrived later stays unread."""
    query = Notification.filter(recipient=recipient, read_at=None)
    if up_to is not None:
        query = query.filter(id__lte=up_to)
    return await query.update(read_at=now())
