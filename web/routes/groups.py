"""Groups in the browser: the directory with search and suggestions, creating a group, its
page and timeline, joining and leaving, settings, members and moderation.

Routes stay thin: every rule is in ``services.groups``, ``services.memberships`` and
``services.group_posts``. A secret group answers 404 to whoever may not know of it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.errors import DomainError, InvalidInput, NotFound
from fediverse_intranet.models import Actor, Group, MemberRole, MemberState
from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import (
    group_posts,
    groups,
    memberships,
    remote_groups,
    social,
    timelines,
    visibility,
)
from fediverse_intranet.services.groups import GroupForm
from web.context import Ctx, choice, field_text, read_form, view
from web.params import query_int
from web.routes.posts import _post_id


def _before(request: Request) -> int | None:
    return query_int(request, "before", low=1)


def _url(group: Group, tail: str = "") -> str:
    return f"/groups/{group.actor.handle}{tail}"


async def _group(request: Request, ctx: Ctx) -> Group:
    return await groups.visible_group(request.path_params["handle"], ctx.actor)


def _form_values(form: FormData) -> GroupForm:
    return GroupForm(**{f.name: field_text(form, f.name, 6000) for f in fields(GroupForm)})


@view()
async def directory(request: Request, ctx: Ctx) -> Response:
    assert ctx.account is not None
    query = request.query_params.get("q", "")[:200]
    kind = request.query_params.get("kind", "")[:20]
    values = {"q": query, "kind": kind}
    errors: dict[str, str] = {}
    try:
        found = await groups.directory(ctx.actor, query, kind)
    except DomainError as exc:
        return ctx.form_error(
            "groups/index.html", exc, form=values, found=[], mine=[], suggestions=[]
        )
    return ctx.page(
        "groups/index.html",
        form=values,
        errors=errors,
        found=found,
        searched=bool(query or kind),
        mine=await groups.groups_of(ctx.actor),
        suggestions=await groups.suggestions(ctx.actor),
        may_create_units=ctx.account.may_pin_news,
    )


@view()
async def create(request: Request, ctx: Ctx) -> Response:
    assert ctx.account is not None
    values = GroupForm()
    if request.method == "POST":
        values = _form_values(await read_form(ctx))
        try:
            group = await groups.create_group(ctx.account, values)
        except DomainError as exc:
            return ctx.form_error(
                "groups/new.html", exc, form=values, may_create_units=ctx.account.may_pin_news
            )
        return RedirectResponse(_url(group), status_code=303)
    return ctx.page("groups/new.html", form=values, may_create_units=ctx.account.may_pin_news)


@view()
async def show(request: Request, ctx: Ctx) -> Response:
    group = await _group(request, ctx)
    mine = await memberships.membership(group, ctx.actor)
    moderator = await memberships.can_moderate(group, ctx.actor)
    member = mine is not None and mine.state == MemberState.MEMBER
    see_members = await visibility.may_list_members(group, ctx.actor)
    first_page = _before(request) is None
    return ctx.page(
        "groups/show.html",
        group=group,
        handle=group.actor.handle,
        description=groups.description_html(group.actor),
        topics=await groups.topics_of(group),
        count=await groups.member_count(group),
        mine=mine,
        member=member,
        moderator=moderator,
        members=await memberships.members(group, MemberState.MEMBER) if see_members else [],
        see_members=see_members,
        pending=await memberships.members(group, MemberState.PENDING) if moderator else [],
        pinned=await timelines.pinned(ctx.actor, group.id) if first_page else [],
        page=await timelines.group(ctx.actor, group.id, _before(request)),
        form={"kind": "note"},
    )


@view()
async def membership(request: Request, ctx: Ctx) -> Response:
    """Join (or ask to, or accept an invitation), leave (or withdraw, or decline). A group
    elsewhere is asked by a Follow (``remote_groups``), never made a member here at once."""
    await read_form(ctx)
    group = await _group(request, ctx)
    joining = request.url.path.endswith("/join")
    if not group.actor.is_local:  # a Follow to the group, a member once it accepts
        await (remote_groups.join if joining else remote_groups.leave)(ctx.actor, group)
    elif joining:
        await memberships.join(group, ctx.actor)
    else:
        await memberships.leave(group, ctx.actor)
    return RedirectResponse(_url(group), status_code=303)


@view()
async def settings(request: Request, ctx: Ctx) -> Response:
    group = await _group(request, ctx)
    mine = await memberships.require_moderator(group, ctx.actor)
    template = "groups/settings.html"
    owner = mine.role == MemberRole.OWNER
    if request.method == "POST":
        values = _form_values(await read_form(ctx))
        try:
            await groups.update_group(group, ctx.actor, values)
        except DomainError as exc:
            return ctx.form_error(template, exc, group=group, form=values, owner=owner)
        return RedirectResponse(_url(group), status_code=303)
    values = GroupForm(
        handle=group.actor.username,
        name=group.actor.display_name,
        description=group.actor.bio,
        topics=" ".join(await groups.topics_of(group)),
        kind=group.kind.value,
        access=group.access.value,
        ends_on=group.ends_on.isoformat() if group.ends_on else "",
    )
    return ctx.page(template, group=group, form=values, owner=owner)


@view()
async def archive(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    group = await _group(request, ctx)
    archived = request.url.path.endswith("/archive")
    await groups.set_archived(group, ctx.actor, archived, field_text(form, "ends_on", 20))
    return RedirectResponse(_url(group), status_code=303)


@view()
async def members(request: Request, ctx: Ctx) -> Response:
    """The member list; for moderators also requests, invitations, bans and the actions."""
    group = await _group(request, ctx)
    if not await visibility.may_list_members(group, ctx.actor):
        raise NotFound("This group does not exist or you cannot see it.")
    return await _members_page(ctx, group)


async def _members_page(
    ctx: Ctx, group: Group, error: DomainError | None = None, invite: str = ""
) -> Response:
    moderator = await memberships.can_moderate(group, ctx.actor)
    rows = await memberships.members(group) if moderator else []
    pending = [r for r in rows if r.state == MemberState.PENDING]
    mine = await memberships.membership(group, ctx.actor) if moderator else None
    values: dict[str, Any] = {
        "group": group,
        "moderator": moderator,
        "owner": mine is not None and mine.role == MemberRole.OWNER,
        "members": await memberships.members(group, MemberState.MEMBER),
        "pending": pending,
        "new_servers": {
            r.actor_id for r in pending if await remote_groups.first_from_server(group, r.actor)
        },
        "invited": [r for r in rows if r.state == MemberState.INVITED],
        "banned": [r for r in rows if r.state == MemberState.BANNED],
        "form": {"handle": invite},
    }
    if error is not None:
        return ctx.form_error("groups/members.html", error, **values)
    return ctx.page("groups/members.html", **values)


async def _person(actor_id: str) -> Actor:
    person = None
    wanted = parse_int(actor_id, low=1)
    if wanted is not None:
        person = await Actor.filter(id=wanted).first()
    if person is None:
        raise NotFound("This person is not in the group.")
    return person


@view()
async def manage(request: Request, ctx: Ctx) -> Response:
    """One moderator action on one person, named in the URL."""
    form = await read_form(ctx)
    group = await _group(request, ctx)
    person = await _person(request.path_params["actor_id"])
    action = request.path_params["action"]
    try:
        if action == "approve":
            await memberships.approve(group, ctx.actor, person)
        elif action == "refuse":
            await memberships.refuse(group, ctx.actor, person)
        elif action == "remove":
            await memberships.remove(group, ctx.actor, person)
        elif action == "ban":
            await memberships.ban(group, ctx.actor, person)
        elif action == "unban":
            await memberships.unban(group, ctx.actor, person)
        elif action == "role":
            role = choice(MemberRole, field_text(form, "role", 20), "role")
            await memberships.set_role(group, ctx.actor, person, role)
        else:
            raise NotFound("This page does not exist.")
    except DomainError as exc:
        if exc.status == 404 or not await memberships.can_moderate(group, ctx.actor):
            raise
        return await _members_page(ctx, group, exc)
    return RedirectResponse(_url(group, "/members"), status_code=303)


@view()
async def invite(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    group = await _group(request, ctx)
    handle = field_text(form, "handle", 300).strip()
    await memberships.require_moderator(group, ctx.actor)
    try:
        if not handle:
            raise InvalidInput("Enter the name of a colleague.", field="handle")
        try:
            person = await social.find_person(handle, ctx.actor)
        except NotFound:
            raise NotFound("Nobody with this name is known here.", field="handle") from None
        await memberships.invite(group, ctx.actor, person)
    except DomainError as exc:
        return await _members_page(ctx, group, exc, invite=handle)
    return RedirectResponse(_url(group, "/members"), status_code=303)


@view()
async def moderate_post(request: Request, ctx: Ctx) -> Response:
    await read_form(ctx)
    group = await _group(request, ctx)
    post_id = _post_id(request)
    action = request.path_params["action"]
    if action == "remove":
        await group_posts.remove(group, ctx.actor, post_id)
    elif action in ("pin", "unpin"):
        await group_posts.set_pinned(group, ctx.actor, post_id, action == "pin")
    elif action in ("lock", "unlock"):
        await group_posts.set_locked(group, ctx.actor, post_id, action == "lock")
    else:
        raise NotFound("This page does not exist.")
    return RedirectResponse(_url(group), status_code=303)


routes = [
    Route("/groups", directory),
    Route("/groups/new", create, methods=["GET", "POST"]),
    Route("/groups/{handle}", show),
    Route("/groups/{handle}/settings", settings, methods=["GET", "POST"]),
    Route("/groups/{handle}/members", members),
    Route("/groups/{handle}/members/invite", invite, methods=["POST"]),
    Route("/groups/{handle}/members/{actor_id}/{action}", manage, methods=["POST"]),
    Route("/groups/{handle}/posts/{post_id}/{action}", moderate_post, methods=["POST"]),
    Route("/groups/{handle}/join", membership, methods=["POST"]),
    Route("/groups/{handle}/leave", membership, methods=["POST"]),
    Route("/groups/{handle}/archive", archive, methods=["POST"]),
    Route("/groups/{handle}/reopen", archive, methods=["POST"]),
]
