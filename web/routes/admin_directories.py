"""Administration > Expertise directories: connect this instance to the public expertise
directories of other servers (``services.remote_directory``), so experts there are found."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.errors import DomainError, InvalidInput
from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import remote_directory
from web.context import Ctx, field_text, read_form, view

PATH = "/admin/directories"


async def _values(domain: str = "", **values: Any) -> dict[str, Any]:
    servers = [
        {"domain": d, "people": await remote_directory.people_of(d)}
        for d in await remote_directory.connected()
    ]
    return {"servers": servers, "form": {"domain": domain}, **values}


async def _act(action: str, domain: str) -> int:
    """Run the admin's choice; returns how many people consenting to be found were read."""
    if action == "connect":
        return await remote_directory.connect(domain)
    if action == "refresh":
        return await remote_directory.refresh(remote_directory.clean_domain(domain))
    if action == "disconnect":
        await remote_directory.disconnect(domain)
        return 0
    raise InvalidInput("Choose an action.", field="domain")


@view(admin=True)
async def directories(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        done = request.query_params.get("done", "")
        found = request.query_params.get("found", "")
        return ctx.page(
            "admin/directories.html",
            **await _values(
                done=done if done in ("connect", "refresh", "disconnect") else "",
                found=parse_int(found, high=999_999) or 0,
            ),
        )
    form = await read_form(ctx)
    domain = field_text(form, "domain", 300)
    action = field_text(form, "op", 20)
    try:
        found = await _act(action, domain)
    except DomainError as exc:
        return ctx.form_error("admin/directories.html", exc, **await _values(domain))
    return RedirectResponse(f"{PATH}?done={action}&found={found}", status_code=303)


routes = [Route(PATH, directories, methods=["GET", "POST"])]
