"""Timelines people read: home, organisation, a tag; and the mutes that keep noise out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.content import normalise_tag
from fediverse_intranet.errors import DomainError, InvalidInput, NotFound
from fediverse_intranet.models import MuteKind, TagFollow
from fediverse_intranet.services import social, timelines
from web.context import Ctx, choice, field_text, read_form, view
from web.params import BAD_NUMBER, form_int, query_int


def _before(request: Request) -> int | None:
    return query_int(request, "before", low=1)


@view()
async def home(request: Request, ctx: Ctx) -> Response:
    raw = request.query_params.get("before")
    cursor = timelines.HomeCursor.parse(raw) if raw is not None else None
    if raw is not None and cursor is None:
        raise InvalidInput(BAD_NUMBER)
    page = await timelines.home(ctx.actor, cursor)
    news = await social.current_announcements(ctx.actor) if cursor is None else []
    return ctx.page(
        "timelines/home.html",
        page=page,
        news=news,
        tags=await social.followed_tags(ctx.actor),
        form={"visibility": "public", "kind": "note"},
    )


@view()
async def organisation(request: Request, ctx: Ctx) -> Response:
    page = await timelines.organisation(ctx.actor, _before(request))
    news = await social.current_announcements(ctx.actor) if not _before(request) else []
    return ctx.page("timelines/organisation.html", page=page, news=news)


def _tag(request: Request) -> str:
    name = normalise_tag(request.path_params["tag"])
    if name is None:
        raise NotFound("This page does not exist.")
    return name


@view()
async def tag(request: Request, ctx: Ctx) -> Response:
    name = _tag(request)
    page = await timelines.tagged(ctx.actor, name, _before(request))
    following = await TagFollow.filter(actor=ctx.actor, tag__name=name).exists()
    return ctx.page("timelines/tag.html", page=page, tag=name, following=following)


@view()
async def follow_tag(request: Request, ctx: Ctx) -> Response:
    await read_form(ctx)
    name = _tag(request)
    if request.url.path.endswith("/unfollow"):
        await social.unfollow_tag(ctx.actor, name)
    else:
        await social.follow_tag(ctx.actor, name)
    return RedirectResponse(f"/tags/{name}", status_code=303)


@view()
async def mutes(request: Request, ctx: Ctx) -> Response:
    values: dict[str, str] = {"kind": "word"}
    if request.method == "POST":
        form = await read_form(ctx)
        values = {"kind": field_text(form, "kind", 10), "value": field_text(form, "value", 300)}
        try:
            remove = form_int(form, "remove")
            if remove is not None:
                await social.remove_mute(ctx.actor, remove)
            else:
                kind = choice(MuteKind, values["kind"], "kind")
                await social.add_mute(ctx.actor, kind, values["value"])
        except DomainError as exc:
            return ctx.form_error(
                "timelines/mutes.html", exc, form=values, mutes=await social.mutes(ctx.actor)
            )
        return RedirectResponse("/settings/mutes", status_code=303)
    return ctx.page("timelines/mutes.html", form=values, mutes=await social.mutes(ctx.actor))


routes = [
    Route("/", home),
    Route("/organisation", organisation),
    Route("/tags/{tag}", tag),
    Route("/tags/{tag}/follow", follow_tag, methods=["POST"]),
    Route("/tags/{tag}/unfollow", follow_tag, methods=["POST"]),
    Route("/settings/mutes", mutes, methods=["GET", "POST"]),
]
