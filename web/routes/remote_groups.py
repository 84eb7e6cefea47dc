"""Groups on other servers in the browser: find one by handle or address, join it (a
request until the group accepts), leave it.

Rules and activities are in ``services.remote_groups``; the group's own page
(``/groups/{name@server}``) shows its posts once someone here belongs to it.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet import instance
from fediverse_intranet.errors import DomainError
from fediverse_intranet.models import Group
from fediverse_intranet.services import groups, memberships, remote_groups, remote_people
from web import i18n
from web.context import Ctx, field_text, read_form, view

PATH = "/remote-groups"
MAX_QUERY = 500


def _here(query: str) -> str:
    return f"{PATH}?q={quote(query, safe='@:/')}"


@view()
async def find(request: Request, ctx: Ctx) -> Response:
    """The search form, and the group a handle or address names with what one can do."""
    query = request.query_params.get("q", "")[:MAX_QUERY].strip()
    errors: dict[str, str] = {}
    group: Group | None = None
    status = 200
    if query:
        try:
            group = await remote_groups.find(query)
        except DomainError as exc:
            errors = {remote_people.FIELD: i18n.gettext_(exc.message, **exc.params)}
            status = exc.status
    mine = await memberships.membership(group, ctx.actor) if group is not None else None
    return ctx.page(
        "groups/remote.html",
        status_code=status,
        form={"q": query},
        errors=errors,
        group=group,
        mine=mine,
        page_url=f"/groups/{group.actor.handle}" if group is not None else "",
        handle=_handle(group),
        description=groups.description_html(group.actor) if group is not None else "",
    )


def _handle(group: Group | None) -> str:
    if group is None:
        return ""
    return f"@{group.actor.username}@{group.actor.domain or instance.current().domain}"


@view()
async def change(request: Request, ctx: Ctx) -> Response:
    """Join or leave the group the form names (a group here is joined on its own page)."""
    form = await read_form(ctx)
    query = field_text(form, remote_people.FIELD, MAX_QUERY).strip()
    group = await remote_groups.find(query)
    if group.actor.is_local:
        return RedirectResponse(f"/groups/{group.actor.handle}", status_code=303)
    if request.url.path.endswith("/join"):
        await remote_groups.join(ctx.actor, group)
    else:
        await remote_groups.leave(ctx.actor, group)
    return RedirectResponse(_here(query), status_code=303)


routes = [
    Route(PATH, find),
    Route(f"{PATH}/join", change, methods=["POST"]),
    Route(f"{PATH}/leave", change, methods=["POST"]),
]
