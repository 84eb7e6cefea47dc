"""Administration of topics: merge synonyms into one topic, mark topics related.

The rules (no chains, no doubles, who gets rescored) live in ``services.topic_links``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.errors import DomainError
from fediverse_intranet.models import TopicLinkKind
from fediverse_intranet.services import topic_links
from web.context import Ctx, field_text, read_form, view
from web.params import path_id


async def _context(ctx: Ctx, form: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "form": form or {"tag": "", "canonical": "", "kind": TopicLinkKind.SYNONYM.value},
        "links": await topic_links.links(),
        "saved": ctx.request.query_params.get("saved", "") if form is None else "",
    }


@view(admin=True)
async def topics(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        return ctx.page("admin/topics.html", **await _context(ctx))
    form = await read_form(ctx)
    values = {
        "tag": field_text(form, "tag", 200),
        "canonical": field_text(form, "canonical", 200),
        "kind": field_text(form, "kind", 20),
    }
    try:
        await topic_links.link(values["tag"], values["canonical"], values["kind"])
    except DomainError as exc:
        return ctx.form_error("admin/topics.html", exc, **await _context(ctx, values))
    return RedirectResponse("/admin/topics?saved=linked", status_code=303)


@view(admin=True)
async def unlink(request: Request, ctx: Ctx) -> Response:
    await read_form(ctx)
    await topic_links.unlink(path_id(request, "link_id"))
    return RedirectResponse("/admin/topics?saved=unlinked", status_code=303)


routes = [
    Route("/admin/topics", topics, methods=["GET", "POST"]),
    Route("/admin/topics/{link_id}/remove", unlink, methods=["POST"]),
]
