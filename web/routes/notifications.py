"""A person's notifications: who mentioned, answered, appreciated or followed them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.services import notifications
from fediverse_intranet.services.visibility import can_view
from web.context import Ctx, read_form, view
from web.params import form_int, query_int


@view()
async def index(request: Request, ctx: Ctx) -> Response:
    before = query_int(request, "before", low=1)
    items = await notifications.page(ctx.actor, before)
    # A mention can be edited away and a post deleted: then say so, without its text.
    visible = {n.id for n in items if n.post is not None and await can_view(n.post, ctx.actor)}
    return ctx.page(
        "notifications/index.html",
        items=items,
        visible=visible,
        before=before,
        newest=items[0].id if items and before is None else None,
        next_before=items[-1].id if len(items) == notifications.PAGE_SIZE else None,
        marked=request.query_params.get("read") == "1",
    )


@view()
async def mark_read(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    # Only what the person had in front of them; what arrived since stays unread.
    up_to = form_int(form, "up_to")
    await notifications.mark_all_read(ctx.actor, up_to=up_to)
    return RedirectResponse("/notifications?read=1", status_code=303)


routes = [
    Route("/notifications", index),
    Route("/notifications/read", mark_read, methods=["POST"]),
]
