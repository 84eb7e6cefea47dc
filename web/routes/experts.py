"""The expertise finder: choose topics (chips from the instance's topic cloud, or typed),
filter by organisation, team and presence, and see who knows most and why.

A plain GET form: it works without JavaScript, and every result page is a link to share.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fediverse_intranet.content import normalise_tag
from fediverse_intranet.services import expertise, profiles
from web import i18n
from web.context import Ctx, view

WHERE = ("all", "here", "elsewhere")
RESULTS = 25


def _keywords(topics: list[str], typed: str) -> tuple[list[str], list[str]]:
    """The chosen topics (normalised, without doubles, at most MAX_KEYWORDS) and the
    messages for what could not be used."""
    chosen: list[str] = []
    problems: list[str] = []
    words = [t[:100] for t in topics[:20]] + typed[:500].replace(",", " ").split()[:20]
    for word in words:
        name = normalise_tag(word)
        if name is None:
            problems.append(
                i18n.gettext_(
                    "%(topic)s is not a topic: use one word of letters, digits or underscores"
                    " (64 at most).",
                    topic=word[:70],
                )
            )
        elif name not in chosen:
            chosen.append(name)
    if len(chosen) > expertise.MAX_KEYWORDS:
        problems.append(
            i18n.gettext_(
                "Search with at most %(max)s topics; the first %(max)s are used.",
                max=expertise.MAX_KEYWORDS,
            )
        )
        chosen = chosen[: expertise.MAX_KEYWORDS]
    return chosen, problems


def _link(topics: list[str], where: str, team: str, present: bool) -> str:
    """The finder's address for these choices (chips add and remove topics with it)."""
    params = [("topic", t) for t in topics]
    if where != "all":
        params.append(("where", where))
    if team:
        params.append(("team", team))
    if present:
        params.append(("present", "1"))
    return "/experts" + ("?" + urlencode(params) if params else "")


@view()
async def finder(request: Request, ctx: Ctx) -> Response:
    query = request.query_params
    topics, problems = _keywords(query.getlist("topic"), query.get("q", ""))
    where = query.get("where", "all")
    where = where if where in WHERE else "all"
    team = " ".join(query.get("team", "")[:100].split())
    present = query.get("present") == "1"
    filters = expertise.Filters(where=where, team=team, present=present)
    found = await expertise.find_experts(topics, filters, ctx.actor, RESULTS) if topics else []
    return ctx.page(
        "experts/index.html",
        topics=topics,
        problems=problems,
        form={"where": where, "team": team, "present": present},
        experts=[(e, profiles.presence_now(e.actor)) for e in found],
        cloud=await profiles.topic_cloud(),
        without={t: _link([x for x in topics if x != t], where, team, present) for t in topics},
        adding=lambda t: _link([*topics, t], where, team, present),
    )


routes = [Route("/experts", finder, methods=["GET"])]
