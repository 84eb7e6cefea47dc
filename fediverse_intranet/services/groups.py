"""Knowledge communities (groups): create, edit, find, suggest, archive.

A group is an ``Actor`` of kind "group" (handle, name, description, photo and topics live
there, so people and groups share one handle space) with a ``Group`` row for kind, access
and end date. Who belongs to a group, and who may do what in it, is
``services.memberships``; moderation of its posts is ``services.group_posts``.

A local group's description is kept as its Markdown source in ``Actor.bio`` (like a
profile's text, so it can be edited); ``description_html`` renders it, sanitised. A remote
group's ``bio`` is the sanitised HTML its server sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from fediverse_intranet import instance, urls
from fediverse_intranet.content import normalise_tag, render_markdown, sanitize_html
from fediverse_intranet.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Account,
    Actor,
    ActorTopic,
    Group,
    GroupAccess,
    GroupKind,
    MemberRole,
    Membership,
    MemberState,
    Post,
    Tag,
    Visibility,
)
from fediverse_intranet.services import accounts, fanout, memberships, visibility
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.profiles import parse_topics

GROUP_KIND = "group"  # Actor.kind of a group
MAX_NAME = 100
MAX_DESCRIPTION = 5000
RESERVED_HANDLES = accounts.RESERVED_USERNAMES | {"new"}  # /groups/new is the create form


@dataclass
class GroupForm:
    """What someone typed in the create or settings form; checked by ``_clean``."""

    handle: str = ""
    name: str = ""
    description: str = ""
    topics: str = ""  # comma or space separated, like profile topics
    kind: str = GroupKind.THEME.value
    access: str = GroupAccess.OPEN.value
    ends_on: str = ""  # YYYY-MM-DD, projects only


@dataclass(frozen=True)
class _Clean:
    name: str
    description: str
    topics: list[str]
    kind: GroupKind
    access: GroupAccess
    ends_on: date | None


def today() -> date:
    return now().date()


def clean_handle(raw: str) -> str:
    try:
        handle = accounts.clean_username(raw)
    except InvalidInput:
        raise InvalidInput(
            "A handle has 1 to 30 letters a-z, digits or underscores.", field="handle"
        ) from None
    if handle in RESERVED_HANDLES:
        raise InvalidInput("This handle is reserved.", field="handle")
    return handle


def _clean(form: GroupForm) -> _Clean:
    name = " ".join(form.name.split())
    if not name:
        raise InvalidInput("Give the group a name.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput("Use at most %(max)s characters.", field="name", max=MAX_NAME)
    description = form.description.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "Use at most %(max)s characters.", field="description", max=MAX_DESCRIPTION
        )
    try:
        kind = GroupKind(form.kind)
    except ValueError:
        raise InvalidInput("Choose an option from the list.", field="kind") from None
    try:
        access = GroupAccess(form.access)
    except ValueError:
        raise InvalidInput("Choose an option from the list.", field="access") from None
    ends_on = None
    if kind == GroupKind.PROJECT:
        ends_on = parse_date(form.ends_on, "ends_on")
        if ends_on is None:
            raise InvalidInput("A project needs an end date.", field="ends_on")
        if ends_on < today():
            raise InvalidInput("Choose an end date today or later.", field="ends_on")
    return _Clean(name, description, parse_topics(form.topics), kind, access, ends_on)


def parse_date(raw: str, field: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        if len(raw) != len("YYYY-MM-DD"):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("Enter a date as YYYY-MM-DD.", field=field) from None


def may_create(account: Account, kind: GroupKind) -> bool:
    """Any colleague may start a theme or project group; organisational units are made by
    administrators and communications staff, who keep the org chart's groups accurate."""
    return kind != GroupKind.UNIT or account.may_pin_news


async def _set_topics(actor: Actor, topics: list[str]) -> None:
    await ActorTopic.filter(actor=actor).delete()
    for name in topics:
        tag, _ = await Tag.get_or_create(name=name)
        await ActorTopic.create(actor=actor, tag=tag)


async def create_group(creator: Account, form: GroupForm) -> Group:
    """A new local group; its creator becomes its first owner."""
    handle = clean_handle(form.handle)
    values = _clean(form)
    if not may_create(creator, values.kind):
        raise PermissionDenied(
            "Only administrators and communications staff can create organisational units.",
            field="kind",
        )
    await creator.fetch_related("actor")
    try:
        async with in_transaction():
            if await Actor.filter(username=handle, domain="").exists():
                raise Conflict("This handle is taken.", field="handle")
            actor = await Actor.create(
                username=handle,
                domain="",
                kind=GROUP_KIND,
                uri=urls.actor_uri(handle),
                display_name=values.name,
                bio=values.description,
            )
            await _set_topics(actor, values.topics)
            group = await Group.create(
                actor=actor, kind=values.kind, access=values.access, ends_on=values.ends_on
            )
            await Membership.create(
                group=group, actor=creator.actor, role=MemberRole.OWNER, state=MemberState.MEMBER
            )
    except IntegrityError:
        raise Conflict("This handle is taken.", field="handle") from None
    group.actor = actor
    return group


async def update_group(group: Group, editor: Actor, form: GroupForm) -> Group:
    """Owners and moderators change name, description, topics, access and end date. The
    handle (part of every id) and the kind stay as created.

    Closing an open group makes its earlier posts members-only here too; opening a closed
    group never widens what was written for members only."""
    await memberships.require_moderator(group, editor)
    _require_local(group)
    values = _clean(GroupForm(**{**form.__dict__, "kind": group.kind.value}))
    async with in_transaction():
        actor = group.actor
        actor.display_name, actor.bio = values.name, values.description
        await actor.save(update_fields=["display_name", "bio"])
        await _set_topics(actor, values.topics)
        closing = values.access != GroupAccess.OPEN and group.access == GroupAccess.OPEN
        group.access, group.ends_on = values.access, values.ends_on
        await group.save(update_fields=["access", "ends_on"])
        if closing:
            await Post.filter(group_id=group.id).update(visibility=Visibility.MEMBERS)
        await fanout.group_updated(group)
    return group


def _require_local(group: Group) -> None:
    if not group.actor.is_local:
        raise PermissionDenied("This group is run by another server: change it there.")


def description_html(actor: Actor) -> str:
    """A group's description as a page or an actor document shows it."""
    if not actor.is_local:
        return sanitize_html(actor.bio)
    return render_markdown(actor.bio, tag_url=urls.tag_url, mention_url=lambda ref: None).html


async def find(handle: str) -> Group | None:
    """The group with this handle (``name`` or ``name@domain``), archived when due."""
    name, _, domain = handle.strip().removeprefix("@").partition("@")
    if domain == instance.current().domain:
        domain = ""
    if not name or len(name) > 64 or len(domain) > 255:
        return None
    group = (
        await Group.filter(actor__username=name.lower(), actor__domain=domain.lower())
        .select_related("actor")
        .first()
    )
    if group is not None:
        await archive_if_due(group)
    return group


async def visible_group(handle: str, viewer: Actor) -> Group:
    """The group, unless it is secret and the viewer neither belongs to it nor was invited:
    then it does not exist, as far as they can tell."""
    group = await find(handle)
    if group is None or not await visibility.may_know_group(group, viewer):
        raise NotFound("This group does not exist or you cannot see it.")
    return group


async def archive_if_due(group: Group) -> bool:
    """A project is archived (read-only) once its end date has passed; done on read, and by
    ``archive_due`` for all groups at once."""
    if (
        group.archived_at is None
        and group.kind == GroupKind.PROJECT
        and group.ends_on is not None
        and group.ends_on < today()
    ):
        group.archived_at = now()
        await Group.filter(id=group.id, archived_at=None).update(archived_at=group.archived_at)
        return True
    return False


async def archive_due() -> int:
    """Archive every project past its end date (the worker's housekeeping, so no page read
    is needed); members' servers hear of each. Returns how many were archived."""
    due = await Group.filter(
        kind=GroupKind.PROJECT, ends_on__lt=today(), archived_at=None, actor__domain=""
    ).select_related("actor")
    archived = 0
    for group in due:
        async with in_transaction():
            group.archived_at = now()
            archived += await Group.filter(id=group.id, archived_at=None).update(
                archived_at=group.archived_at
            )
            await fanout.group_updated(group)
    return archived


async def set_archived(group: Group, by: Actor, archived: bool, ends_on: str = "") -> Group:
    """Owners archive a group, or reopen it; a project past its end date reopens only with
    a new end date, or the next read would archive it again."""
    await memberships.require_owner(group, by)
    _require_local(group)
    if archived:
        if group.archived_at is None:
            async with in_transaction():
                group.archived_at = now()
                await group.save(update_fields=["archived_at"])
                await fanout.group_updated(group)
        return group
    if group.kind == GroupKind.PROJECT:
        new_end = parse_date(ends_on, "ends_on") or group.ends_on
        if new_end is None or new_end < today():
            raise InvalidInput("Choose an end date today or later.", field="ends_on")
        group.ends_on = new_end
    async with in_transaction():
        group.archived_at = None
        await group.save(update_fields=["archived_at", "ends_on"])
        await fanout.group_updated(group)
    return group


def require_open_for_posts(group: Group) -> None:
    if group.archived_at is not None:
        raise PermissionDenied("This group is archived: it is read-only.")


async def topics_of(group: Group) -> list[str]:
    rows = await ActorTopic.filter(actor_id=group.actor_id).select_related("tag")
    return sorted(row.tag.name for row in rows)


async def member_count(group: Group) -> int:
    return await Membership.filter(group=group, state=MemberState.MEMBER).count()


async def _listed_for(viewer: Actor) -> Q:
    """Groups the directory may show: all but secret ones, and secret ones the viewer is in
    or invited to."""
    mine = await Membership.filter(
        actor_id=viewer.id, state__in=[MemberState.MEMBER, MemberState.INVITED]
    ).values_list("group_id", flat=True)
    return Q(access__not=GroupAccess.SECRET) | Q(id__in=list(mine))


async def directory(viewer: Actor, query: str = "", kind: str = "", limit: int = 50) -> list[Group]:
    """Search by a word in the name, handle, description or topics, optionally by kind."""
    found = Group.filter(await _listed_for(viewer))
    if kind:
        try:
            found = found.filter(kind=GroupKind(kind))
        except ValueError:
            raise InvalidInput("Choose an option from the list.", field="kind") from None
    for word in (w[:50] for w in query.split()[:5]):
        tag = normalise_tag(word.lstrip("#"))
        match = (
            Q(actor__display_name__icontains=word)
            | Q(actor__username__icontains=word)
            | Q(actor__bio__icontains=word)
        )
        if tag is not None:
            match |= Q(actor__topics__tag__name=tag)
        found = found.filter(match)
    return (
        await found.distinct()
        .select_related("actor")
        .order_by("actor__display_name", "actor__username")
        .limit(limit)
    )


@dataclass(frozen=True)
class Suggestion:
    group: Group
    shared_topics: list[str]


async def suggestions(viewer: Actor, limit: int = 6) -> list[Suggestion]:
    """Groups on the viewer's expertise topics that they are not in yet, most topics in
    common first. Secret groups are never suggested."""
    mine = await ActorTopic.filter(actor_id=viewer.id).values_list("tag_id", flat=True)
    if not mine:
        return []
    joined = await Membership.filter(actor_id=viewer.id).values_list("group_id", flat=True)
    rows = (
        await ActorTopic.filter(
            tag_id__in=mine,
            actor__kind=GROUP_KIND,
            actor__group__access__not=GroupAccess.SECRET,
            actor__group__archived_at=None,
        )
        .exclude(actor__group__id__in=joined)
        .annotate(shared=Count("id"))
        .group_by("actor_id")
        .order_by("-shared", "actor_id")
        .limit(limit)
        .values("actor_id", "shared")
    )
    order = [row["actor_id"] for row in rows]
    groups = {g.actor_id: g for g in await Group.filter(actor_id__in=order).select_related("actor")}
    shared: dict[int, list[str]] = {}
    for row in await ActorTopic.filter(actor_id__in=order, tag_id__in=mine).select_related("tag"):
        shared.setdefault(row.actor_id, []).append(row.tag.name)
    return [Suggestion(groups[i], sorted(shared.get(i, []))) for i in order if i in groups]


async def groups_of(actor: Actor) -> list[Membership]:
    """The groups someone belongs to, is invited to or asked to join, by name."""
    return (
        await Membership.filter(
            actor_id=actor.id,
            state__in=[MemberState.MEMBER, MemberState.INVITED, MemberState.PENDING],
        )
        .select_related("group__actor")
        .order_by("group__actor__display_name")
    )
