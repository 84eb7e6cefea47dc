"""Who belongs to a group and who may do what in it: join, request, approve, refuse,
invite, leave, remove, ban, roles.

Each change returns a ``Change`` saying what it was before and after, so the caller (a
page, or federation: a remote person's Follow is ``join(group, actor, follow_uri=...)``, an
Undo of it ``leave``) can tell other servers exactly what happened. The functions take any
``Actor``, here or elsewhere; notifications reach local people only.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from fediverse_intranet.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Actor,
    Group,
    GroupAccess,
    MemberRole,
    Membership,
    MemberState,
    NotificationKind,
)
from fediverse_intranet.services import fanout, keys, notifications, visibility

MODERATING = (MemberRole.OWNER, MemberRole.MODERATOR)
MAX_PENDING_PER_GROUP = 500  # a flood of join requests stops here until moderators catch up


@dataclass(frozen=True)
class Change:
    """One person's membership before and after a call; ``None`` means no row."""

    group: Group
    actor: Actor
    before: MemberState | None
    after: MemberState | None
    role_before: MemberRole | None = None
    role_after: MemberRole | None = None
    membership: Membership | None = None  # the row as it is now (None once removed)

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.role_before != self.role_after


def _change(group: Group, actor: Actor, row: Membership | None, after: Membership | None) -> Change:
    return Change(
        group,
        actor,
        row.state if row else None,
        after.state if after else None,
        row.role if row else None,
        after.role if after else None,
        after,
    )


async def membership(group: Group, actor: Actor | None) -> Membership | None:
    if actor is None:
        return None
    return await Membership.filter(group_id=group.id, actor_id=actor.id).first()


async def is_member(group: Group, actor: Actor | None) -> bool:
    row = await membership(group, actor)
    return row is not None and row.state == MemberState.MEMBER


async def runs_here(group: Group) -> bool:
    """Whether this server hosts the group: only then do its moderators act here (a group
    elsewhere is moderated on its own server, which tells us)."""
    return await Actor.filter(id=group.actor_id, domain="").exists()


async def can_moderate(group: Group, actor: Actor | None) -> bool:
    row = await membership(group, actor)
    if row is None or row.state != MemberState.MEMBER or row.role not in MODERATING:
        return False
    return await runs_here(group)


async def banned_from(group_id: int, actor: Actor) -> bool:
    """Checked at every write in the group, edits included, not only at posting time."""
    return await Membership.filter(
        group_id=group_id, actor_id=actor.id, state=MemberState.BANNED
    ).exists()


async def require_member(group: Group, actor: Actor) -> Membership:
    row = await membership(group, actor)
    if row is not None and row.state == MemberState.MEMBER:
        return row
    if not await visibility.may_know_group(group, actor):
        raise NotFound("This group does not exist or you cannot see it.")
    if row is not None and row.state == MemberState.BANNED:
        raise PermissionDenied("You are banned from this group.")
    raise PermissionDenied("Only members can do this. Join the group first.")


async def require_moderator(group: Group, actor: Actor) -> Membership:
    row = await require_member(group, actor)
    if row.role not in MODERATING:
        raise PermissionDenied("Only the group's owners and moderators can do this.")
    await _require_here(group)
    return row


async def require_owner(group: Group, actor: Actor) -> Membership:
    row = await require_member(group, actor)
    if row.role != MemberRole.OWNER:
        raise PermissionDenied("Only the group's owners can do this.")
    await _require_here(group)
    return row


async def _require_here(group: Group) -> None:
    if not await runs_here(group):
        raise PermissionDenied("This group is run by another server: change it there.")


async def _group_actor(group: Group) -> Actor:
    return await Actor.get(id=group.actor_id)


async def _ready_to_answer(group: Group, actor: Actor) -> None:
    """Before a change that a remote person's server will hear of: the group's key is made
    outside the transaction (it takes ~50 ms), so the transaction stays short."""
    if not actor.is_local:
        await keys.ensure_keys(await _group_actor(group))


async def _tell(change: Change, by: Actor, follow_uri: str = "") -> Change:
    """Other servers hear of a change in the same transaction (``fanout.membership_changed``:
    Accept, Reject, the group's Block or its Undo); ``follow_uri`` names the Follow of a row
    that is gone."""
    await fanout.membership_changed(change, by, follow_uri=follow_uri)
    return change


async def _tell_moderators(group: Group) -> None:
    """A request is waiting: each local moderator hears of it once until they read it."""
    rows = await Membership.filter(
        group_id=group.id, state=MemberState.MEMBER, role__in=MODERATING, actor__domain=""
    ).select_related("actor")
    sender = await _group_actor(group)
    for row in rows:
        await notifications.notify_unread_once(row.actor, NotificationKind.GROUP_REQUEST, sender)


async def join(group: Group, actor: Actor, follow_uri: str = "") -> Change:
    """Join an open group at once; ask to join a closed one; a secret one only by invitation.
    An invitation is accepted by joining. Asking again changes nothing."""
    if group.archived_at is not None:
        raise PermissionDenied("This group is archived: it is read-only.")
    async with in_transaction():
        row = await membership(group, actor)
        if row is not None and row.state == MemberState.BANNED:
            raise PermissionDenied("You are banned from this group.")
        if row is not None and row.state in (MemberState.MEMBER, MemberState.PENDING):
            if follow_uri and row.uri != follow_uri:
                row.uri = follow_uri
                await row.save(update_fields=["uri", "updated_at"])
            return _change(group, actor, row, row)
        before = _snapshot(row)
        invited = row is not None and row.state == MemberState.INVITED
        if invited or group.access == GroupAccess.OPEN:
            state = MemberState.MEMBER
        elif group.access == GroupAccess.CLOSED:
            state = MemberState.PENDING
            pending = Membership.filter(group_id=group.id, state=MemberState.PENDING)
            if await pending.count() >= MAX_PENDING_PER_GROUP:
                raise Conflict("This group has too many open requests. Try again later.")
        else:
            raise NotFound("This group does not exist or you cannot see it.")
        try:
            row = await _save(group, actor, row, state, uri=follow_uri)
        except IntegrityError:  # the same person in a request that committed first
            raise Conflict("Your membership changed meanwhile. Reload the page.") from None
        if state == MemberState.PENDING:
            await _tell_moderators(group)
    return _change(group, actor, before, row)


def _snapshot(row: Membership | None) -> Membership | None:
    return Membership(state=row.state, role=row.role) if row is not None else None


async def _save(
    group: Group,
    actor: Actor,
    row: Membership | None,
    state: MemberState,
    role: MemberRole = MemberRole.MEMBER,
    uri: str = "",
) -> Membership:
    if row is None:
        return await Membership.create(group=group, actor=actor, state=state, role=role, uri=uri)
    row.state, row.role = state, role
    row.uri = uri or row.uri
    await row.save(update_fields=["state", "role", "uri", "updated_at"])
    return row


async def leave(group: Group, actor: Actor) -> Change:
    """Leave, withdraw a request, or decline an invitation: the row goes. The last owner
    stays until they appoint another; a ban is not undone by leaving."""
    async with in_transaction():
        row = await membership(group, actor)
        if row is None or row.state == MemberState.BANNED:
            return _change(group, actor, row, row)
        if row.role == MemberRole.OWNER and await _owners(group) <= 1:
            raise PermissionDenied("Appoint another owner before you leave the group.")
        await row.delete()
    return _change(group, actor, row, None)


async def _owners(group: Group) -> int:
    return await Membership.filter(
        group_id=group.id, state=MemberState.MEMBER, role=MemberRole.OWNER
    ).count()


async def _target(group: Group, actor: Actor) -> Membership:
    row = await membership(group, actor)
    if row is None:
        raise NotFound("This person is not in the group.")
    return row


async def _pending(group: Group, actor: Actor) -> Membership:
    row = await membership(group, actor)
    if row is None or row.state != MemberState.PENDING:
        raise Conflict("There is no open request from this person.")
    return row


async def approve(group: Group, by: Actor, actor: Actor) -> Change:
    """A moderator lets a person who asked in."""
    await require_moderator(group, by)
    await _ready_to_answer(group, actor)
    async with in_transaction():
        row = await _pending(group, actor)
        before = _snapshot(row)
        await _save(group, actor, row, MemberState.MEMBER)
        return await _tell(_change(group, actor, before, row), by)


async def refuse(group: Group, by: Actor, actor: Actor) -> Change:
    """A moderator turns a request down; the person may ask again later."""
    await require_moderator(group, by)
    await _ready_to_answer(group, actor)
    async with in_transaction():
        row = await _pending(group, actor)
        await row.delete()
        return await _tell(_change(group, actor, row, None), by, follow_uri=row.uri)


async def invite(group: Group, by: Actor, actor: Actor) -> Change:
    """A moderator invites someone (the only way into a secret group); a pending request
    is approved instead. The invited person is notified."""
    await require_moderator(group, by)
    if actor.is_group:
        raise InvalidInput("Only people can be invited.", field="handle")
    if group.archived_at is not None:
        raise PermissionDenied("This group is archived: it is read-only.")
    await _ready_to_answer(group, actor)
    async with in_transaction():
        row = await membership(group, actor)
        before = _snapshot(row)
        if row is not None and row.state == MemberState.BANNED:
            raise Conflict("This person is banned from the group. Lift the ban first.")
        if row is not None and row.state in (MemberState.MEMBER, MemberState.INVITED):
            return _change(group, actor, row, row)
        state = MemberState.MEMBER if row is not None else MemberState.INVITED
        row = await _save(group, actor, row, state)
        if state == MemberState.INVITED:
            sender = await _group_actor(group)
            await notifications.notify_unread_once(actor, NotificationKind.GROUP_INVITE, sender)
        return await _tell(_change(group, actor, before, row), by)  # a request let in: Accept


async def _outranks(group: Group, by: Actor, row: Membership) -> None:
    """Moderators act on members; owners on everyone but other owners; nobody on themselves."""
    mine = await require_moderator(group, by)
    if row.actor_id == by.id:
        raise InvalidInput("You cannot do this to yourself.")
    if row.state == MemberState.MEMBER and row.role == MemberRole.OWNER:
        raise PermissionDenied("An owner cannot be removed or banned. Change their role first.")
    if row.role == MemberRole.MODERATOR and mine.role != MemberRole.OWNER:
        raise PermissionDenied("Only the group's owners can do this.")


async def remove(group: Group, by: Actor, actor: Actor) -> Change:
    """A moderator takes someone out of the group (or withdraws an invitation); they may
    ask to join again."""
    await _ready_to_answer(group, actor)
    async with in_transaction():
        row = await _target(group, actor)
        if row.state == MemberState.BANNED:
            raise Conflict("This person is banned. Lift the ban instead.")
        await _outranks(group, by, row)
        await row.delete()
        return await _tell(_change(group, actor, row, None), by, follow_uri=row.uri)


async def ban(group: Group, by: Actor, actor: Actor) -> Change:
    """Keep someone out: they leave, cannot join again and cannot post or reply here.
    Works for people who were never members too (a troublesome requester)."""
    await _ready_to_answer(group, actor)
    async with in_transaction():
        row = await membership(group, actor)
        if row is not None:
            await _outranks(group, by, row)
            if row.state == MemberState.BANNED:
                return _change(group, actor, row, row)
        else:
            await require_moderator(group, by)
            if actor.id == by.id:
                raise InvalidInput("You cannot do this to yourself.")
        before = _snapshot(row)
        row = await _save(group, actor, row, MemberState.BANNED, uri=row.uri if row else "")
        return await _tell(_change(group, actor, before, row), by)


async def unban(group: Group, by: Actor, actor: Actor) -> Change:
    """Lift a ban; the person is not a member again until they join (or are invited)."""
    await require_moderator(group, by)
    await _ready_to_answer(group, actor)
    async with in_transaction():
        row = await _target(group, actor)
        if row.state != MemberState.BANNED:
            raise Conflict("This person is not banned.")
        await row.delete()
        return await _tell(_change(group, actor, row, None), by, follow_uri=row.uri)


async def set_role(group: Group, by: Actor, actor: Actor, role: MemberRole) -> Change:
    """Owners appoint moderators and owners, or take the role back; a group always keeps
    at least one owner."""
    await require_owner(group, by)
    async with in_transaction():
        row = await _target(group, actor)
        if row.state != MemberState.MEMBER:
            raise Conflict("Only members can have a role.")
        if row.role == role:
            return _change(group, actor, row, row)
        if row.role == MemberRole.OWNER and await _owners(group) <= 1:
            raise PermissionDenied("A group needs at least one owner. Appoint another first.")
        before = _snapshot(row)
        row.role = role
        await row.save(update_fields=["role", "updated_at"])
    return _change(group, actor, before, row)


async def members(group: Group, *states: MemberState) -> list[Membership]:
    """Rows in the given states (all when none), owners and moderators first, then by name."""
    query = Membership.filter(group_id=group.id)
    if states:
        query = query.filter(state__in=list(states))
    rows = await query.select_related("actor").order_by("actor__display_name", "actor__username")
    rank = {MemberRole.OWNER: 0, MemberRole.MODERATOR: 1, MemberRole.MEMBER: 2}
    return sorted(rows, key=lambda row: rank[row.role])
