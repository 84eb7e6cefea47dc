"""People: profiles, the colleagues directory, following and personal settings."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.content import sanitize_html
from fediverse_intranet.errors import DomainError, InvalidInput, NotFound
from fediverse_intranet.images import MAX_UPLOAD_BYTES
from fediverse_intranet.models import Actor, Presence
from fediverse_intranet.services import (
    accounts,
    endorsements,
    profiles,
    remote_people,
    social,
    timelines,
)
from fediverse_intranet.services.clock import now
from web import i18n
from web.context import SESSION_COOKIE, CsrfFailed, Ctx, field_text, read_form, view
from web.params import query_int
from web.routes.auth import safe_next
from web.templating import TIMEZONE

PROFILE_FIELDS = ("display_name", "job_title", "team", "location", "contact", "bio", "topics")
LEVEL_PREFIX = "level_"  # the settings form's level of each topic: level_<topic>
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M"
ZONE = ZoneInfo(TIMEZONE)


def _cursor(request: Request) -> int | None:
    return query_int(request, "before", low=1)


# --- profile and following ---------------------------------------------------------------------


@view()
async def profile(request: Request, ctx: Ctx) -> Response:
    person = await _person(request.path_params["username"], ctx.actor)
    handle = person.handle
    if person.is_group:  # groups share the handle space; their page is elsewhere
        return RedirectResponse(f"/groups/{handle}", status_code=303)
    followers, following = await social.counts(person)
    return ctx.page(
        "people/profile.html",
        person=person,
        handle=handle,
        topics=await profiles.topics_of(person),
        endorsed=await endorsements.on_profile(person, ctx.actor) if person.is_local else [],
        presence=profiles.presence_now(person),
        followers=followers,
        following=following,
        is_me=person.id == ctx.actor.id,
        follow_state=(await social.follow_state(ctx.actor, person)).value,
        remote=await remote_people.details(person),
        bio_html="" if person.is_local else sanitize_html(person.bio),
        posts=await timelines.person(ctx.actor, person, _cursor(request)),
        base=f"/@{handle}",
    )


async def _person(handle: str, viewer: Actor) -> Actor:
    """Someone known here; a ``user@server`` handle not known yet is looked up there."""
    try:
        return await social.find_person(handle, viewer)
    except NotFound:
        if not remote_people.looks_remote(handle):
            raise
    return await remote_people.find(handle)


@view()
async def follow(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    person = await social.find_person(request.path_params["username"], ctx.actor)
    await social.follow(ctx.actor, person)
    return RedirectResponse(_back(form, person), status_code=303)


@view()
async def unfollow(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    person = await social.find_person(request.path_params["username"], ctx.actor)
    await social.unfollow(ctx.actor, person)
    return RedirectResponse(_back(form, person), status_code=303)


@view()
async def endorse(request: Request, ctx: Ctx) -> Response:
    """Endorse (or, with ``action=withdraw``, take back) one of a colleague's topics."""
    form = await read_form(ctx)
    person = await social.find_person(request.path_params["username"], ctx.actor)
    topic = field_text(form, "topic", 100).strip()
    if field_text(form, "action", 20) == "withdraw":
        await endorsements.withdraw(ctx.actor, person, topic)
    else:
        await endorsements.endorse(ctx.actor, person, topic)
    return RedirectResponse(f"/@{person.handle}#expertise", status_code=303)


def _back(form: FormData, person: Actor) -> str:
    return safe_next(field_text(form, "next", 500) or f"/@{person.handle}")


# --- the colleagues directory ------------------------------------------------------------------


@view()
async def directory(request: Request, ctx: Ctx) -> Response:
    """Colleagues here by name, function, team or topic; a handle such as
    ``@bob@gemeente-y.nl`` or a profile address finds someone on another server."""
    query = request.query_params.get("q", "")[:500]
    topic = request.query_params.get("topic", "")[:100]
    errors: dict[str, str] = {}
    found: list[Actor] = []
    status = 200
    try:
        if remote_people.looks_remote(query) and not topic.strip():
            person = await remote_people.find(query)
            return RedirectResponse(f"/@{quote(person.handle, safe='@:')}", status_code=303)
        found = await profiles.people(query[:200], topic)
    except DomainError as exc:
        errors = {exc.field or "_form": i18n.gettext_(exc.message, **exc.params)}
        status = exc.status if exc.field == remote_people.FIELD else 200
    return ctx.page(
        "people/index.html",
        status_code=status,
        form={"q": query, "topic": topic},
        errors=errors,
        searched=bool(query.strip() or topic.strip()),
        people=[(person, profiles.presence_now(person)) for person in found],
        cloud=await profiles.topic_cloud(),
    )


# --- settings: profile and photo ---------------------------------------------------------------


async def _profile_values(actor: Actor) -> dict[str, str]:
    values = {name: getattr(actor, name) for name in PROFILE_FIELDS if name != "topics"}
    values["topics"] = ", ".join(await profiles.topics_of(actor))
    return values


async def _profile_page(ctx: Ctx, form: dict[str, str] | None = None, **values: Any) -> dict:
    """What the profile settings page shows besides errors: shared by all its forms."""
    request = ctx.request
    return {
        "form": form if form is not None else await _profile_values(ctx.actor),
        "levels": await profiles.topic_levels(ctx.actor),
        "missing": await profiles.missing_parts(ctx.actor),
        "welcome": request.query_params.get("welcome") == "1",
        "saved": request.query_params.get("saved", ""),
        **values,
    }


@view()
async def settings_index(request: Request, ctx: Ctx) -> Response:
    return RedirectResponse("/settings/profile", status_code=303)


@view()
async def settings_profile(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        return ctx.page("settings/profile.html", **await _profile_page(ctx))
    form = await read_form(ctx)
    values = {name: field_text(form, name, 10_000) for name in PROFILE_FIELDS}
    levels = {
        key.removeprefix(LEVEL_PREFIX): field_text(form, key, 10)
        for key in form
        if key.startswith(LEVEL_PREFIX)
    }
    try:
        await profiles.update_profile(ctx.actor, profiles.ProfileForm(**values, levels=levels))
    except DomainError as exc:
        await ctx.actor.refresh_from_db()  # the photo part of the page shows what is stored
        return ctx.form_error("settings/profile.html", exc, **await _profile_page(ctx, values))
    return RedirectResponse("/settings/profile?saved=profile", status_code=303)


@view(uploads=True)
async def settings_photo(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        return RedirectResponse("/settings/profile#photo", status_code=303)
    try:
        form = await read_form(ctx, uploads=True)
        upload = form.get("photo")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Choose an image file to upload.", field="photo")
        if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
            # Refused before it is read into memory; the same words the image check uses.
            raise InvalidInput(
                "The image is larger than %(mb)s MB.",
                field="photo",
                mb=MAX_UPLOAD_BYTES // (1024 * 1024),
            )
        await profiles.set_photo(ctx.actor, await upload.read())
    except CsrfFailed:
        raise
    except DomainError as exc:
        if exc.field is None:
            exc.field = "photo"  # an unreadable form: the file is the likely cause
        return ctx.form_error("settings/profile.html", exc, **await _profile_page(ctx))
    return RedirectResponse("/settings/profile?saved=photo#photo", status_code=303)


@view()
async def remove_photo(request: Request, ctx: Ctx) -> Response:
    await read_form(ctx)
    await profiles.remove_photo(ctx.actor)
    return RedirectResponse("/settings/profile?saved=photo_removed#photo", status_code=303)


# --- settings: presence ------------------------------------------------------------------------


def _local_input(value: datetime | None) -> str:
    """A stored UTC time as a ``datetime-local`` value in the instance's time zone."""
    return value.astimezone(ZONE).strftime(LOCAL_TIME_FORMAT) if value else ""


def parse_local_time(text: str) -> datetime:
    """A ``datetime-local`` value, meant in Europe/Amsterdam, as an aware UTC time."""
    try:
        local = datetime.fromisoformat(text.strip())
        if local.tzinfo is None:
            local = local.replace(tzinfo=ZONE)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "Enter a date and time, for example 2025-03-14 17:00.", field="presence_until"
        ) from None


def end_of_today() -> datetime:
    today = now().astimezone(ZONE).date()
    return datetime.combine(today, time(23, 59), tzinfo=ZONE).astimezone(UTC)


def _presence_until(form: FormData) -> datetime | None:
    choice = field_text(form, "until_choice", 10)
    text = field_text(form, "presence_until", 40).strip()
    if choice == "today":
        return end_of_today()
    if choice == "time" or text:  # a filled-in time says what was meant
        if not text:
            raise InvalidInput("Enter a date and time.", field="presence_until")
        return parse_local_time(text)
    return None


@view()
async def settings_presence(request: Request, ctx: Ctx) -> Response:
    me = ctx.actor
    if request.method == "GET":
        shown = profiles.presence_now(me)
        values = {
            "presence": shown.status.value if shown else "",
            "presence_note": shown.note if shown else "",
            "presence_until": _local_input(shown.until if shown else None),
            "until_choice": "time" if shown and shown.until else "none",
        }
        return ctx.page(
            "settings/presence.html",
            form=values,
            presence=shown,
            saved=request.query_params.get("saved") == "1",
        )
    form = await read_form(ctx)
    values = {
        "presence": field_text(form, "presence", 20),
        "presence_note": field_text(form, "presence_note", 1000),
        "presence_until": field_text(form, "presence_until", 40),
        "until_choice": field_text(form, "until_choice", 10),
    }
    try:
        until = _presence_until(form) if values["presence"] != Presence.UNSET else None
        await profiles.set_presence(me, values["presence"], values["presence_note"], until)
    except DomainError as exc:
        await me.refresh_from_db()
        return ctx.form_error(
            "settings/presence.html", exc, form=values, presence=profiles.presence_now(me)
        )
    return RedirectResponse("/settings/presence?saved=1", status_code=303)


# --- settings: account -------------------------------------------------------------------------


@view()
async def settings_account(request: Request, ctx: Ctx) -> Response:
    assert ctx.account is not None
    page: dict[str, Any] = {"saved": request.query_params.get("saved", "")}
    if request.method == "GET":
        return ctx.page("settings/account.html", form={"locale": ctx.account.locale}, **page)
    form = await read_form(ctx)
    action = field_text(form, "action", 20)
    try:
        if action == "password":
            new = field_text(form, "password", 1000)
            if new != field_text(form, "password_again", 1000):
                raise InvalidInput("The passwords differ.", field="password_again")
            await accounts.change_password(
                ctx.account,
                field_text(form, "current_password", 1000),
                new,
                keep_session=request.cookies.get(SESSION_COOKIE, ""),
            )
            return RedirectResponse("/settings/account?saved=password", status_code=303)
        if action == "locale":
            await accounts.set_locale(ctx.account, field_text(form, "locale", 10))
            return RedirectResponse("/settings/account?saved=locale", status_code=303)
        raise InvalidInput("The form could not be read. Please try again.")
    except DomainError as exc:
        return ctx.form_error(
            "settings/account.html", exc, form={"locale": ctx.account.locale}, **page
        )


routes = [
    Route("/@{username}", profile, methods=["GET"]),
    Route("/@{username}/follow", follow, methods=["POST"]),
    Route("/@{username}/unfollow", unfollow, methods=["POST"]),
    Route("/@{username}/endorse", endorse, methods=["POST"]),
    Route("/people", directory, methods=["GET"]),
    Route("/settings", settings_index, methods=["GET"]),
    Route("/settings/profile", settings_profile, methods=["GET", "POST"]),
    Route("/settings/photo", settings_photo, methods=["GET", "POST"]),
    Route("/settings/photo/remove", remove_photo, methods=["POST"]),
    Route("/settings/presence", settings_presence, methods=["GET", "POST"]),
    Route("/settings/account", settings_account, methods=["GET", "POST"]),
]
