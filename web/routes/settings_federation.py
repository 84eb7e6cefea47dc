"""Settings > Beyond this server: whether a person's expertise profile may be found by
colleagues at other government bodies (Mastodon's ``indexable``, FEP-5feb)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.services import remote_directory
from web.context import Ctx, field_text, read_form, view

PATH = "/settings/federation"


@view()
async def settings_federation(request: Request, ctx: Ctx) -> Response:
    me = ctx.actor
    if request.method == "GET":
        return ctx.page(
            "settings/federation.html",
            form={"indexable": me.indexable},
            saved=request.query_params.get("saved") == "1",
        )
    form = await read_form(ctx)
    await remote_directory.set_consent(me, field_text(form, "indexable", 10) == "on")
    return RedirectResponse(f"{PATH}?saved=1", status_code=303)


routes = [Route(PATH, settings_federation, methods=["GET", "POST"])]
