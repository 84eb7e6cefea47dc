"""The search page: one field, results in sections for people, groups and posts.

Every rule (what matches, what the viewer may see) is in ``services.search``; a query that
holds no words gets a message, never an error.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fediverse_intranet.content import plain_text
from fediverse_intranet.models import Post
from fediverse_intranet.services import search as search_service
from web.context import Ctx, view

MAX_QUERY = 500  # longer input is cut here; the service uses its first words anyway


def snippet(post: Post) -> str:
    return plain_text(post.content_html, 240)


@view()
async def search(request: Request, ctx: Ctx) -> Response:
    query = request.query_params.get("q", "")[:MAX_QUERY]
    asked = "q" in request.query_params
    results = await search_service.search(ctx.actor, query) if asked else None
    return ctx.page("search/index.html", form={"q": query}, results=results, snippet=snippet)


routes = [Route("/search", search)]
