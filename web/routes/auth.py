"""First-admin setup, sign-in and sign-out, invitations, sign-up, password reset, language."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.errors import DomainError
from fediverse_intranet.models import Account
from fediverse_intranet.services import accounts
from web.context import (
    CSRF_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    Ctx,
    client_address,
    field_text,
    new_nonce,
    read_form,
    view,
)


def safe_next(target: str) -> str:
    """Only a path on this site: never send a person elsewhere after signing in."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _signed_in(ctx: Ctx, account: Account, target: str = "/") -> Response:
    """A new session, and a new pre-session cookie: no token of the page before survives."""
    ctx.new_cookies[SESSION_COOKIE] = await accounts.start_session(account)
    ctx.new_cookies[CSRF_COOKIE] = new_nonce()
    return RedirectResponse(safe_next(target), status_code=303)


def _person_fields(form: FormData) -> dict[str, str]:
    return {
        "username": field_text(form, "username", 100),
        "email": field_text(form, "email", 300),
        "password": field_text(form, "password", 1000),
        "display_name": field_text(form, "display_name", 300),
    }


@view(login=False)
async def setup(request: Request, ctx: Ctx) -> Response:
    if await accounts.has_accounts():
        return RedirectResponse("/login", status_code=303)
    if request.method == "GET":
        return ctx.page("auth/setup.html")
    form = await read_form(ctx)
    values = _person_fields(form)
    if form.get("password") != form.get("password_again"):
        return ctx.form_error(
            "auth/setup.html", DomainError("The passwords differ.", "password_again"), form=values
        )
    try:
        account = await accounts.create_first_admin(**values)
    except DomainError as exc:
        return ctx.form_error("auth/setup.html", exc, form=values)
    return await _signed_in(ctx, account, "/settings/profile?welcome=1")


@view(login=False)
async def login(request: Request, ctx: Ctx) -> Response:
    if not await accounts.has_accounts():
        return RedirectResponse("/setup", status_code=303)
    target = safe_next(request.query_params.get("next", "/"))
    if ctx.account is not None:
        return RedirectResponse(target, status_code=303)
    signup_open = bool(await accounts.signup_domains())
    if request.method == "GET":
        return ctx.page(
            "auth/login.html",
            next=target,
            expired=request.query_params.get("expired") == "1",
            reset_done=request.query_params.get("reset") == "1",
            signup_open=signup_open,
        )
    form = await read_form(ctx)
    target = safe_next(field_text(form, "next", 500) or "/")
    name = field_text(form, "login", 300)
    try:
        account = await accounts.authenticate(
            name, field_text(form, "password", 1000), client_address(request)
        )
    except DomainError as exc:
        return ctx.form_error(
            "auth/login.html", exc, form={"login": name}, next=target, signup_open=signup_open
        )
    return await _signed_in(ctx, account, target)


@view(login=False)
async def logout(request: Request, ctx: Ctx) -> Response:
    if request.method == "POST":
        await read_form(ctx)
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            await accounts.end_session(token)
        ctx.new_cookies[SESSION_COOKIE] = ""
        ctx.new_cookies[CSRF_COOKIE] = new_nonce()
    return RedirectResponse("/login", status_code=303)


@view(login=False)
async def invitation(request: Request, ctx: Ctx) -> Response:
    token = request.path_params["token"]
    try:
        invite = await accounts.open_invitation(token)
    except DomainError as exc:
        return ctx.form_error("auth/invalid_link.html", exc)
    if request.method == "GET":
        return ctx.page("auth/join.html", form={"email": invite.email}, invite=invite)
    form = await read_form(ctx)
    values = _person_fields(form)
    try:
        account = await accounts.accept_invitation(token, **values)
    except DomainError as exc:
        return ctx.form_error("auth/join.html", exc, form=values, invite=invite)
    return await _signed_in(ctx, account, "/settings/profile?welcome=1")


@view(login=False)
async def signup(request: Request, ctx: Ctx) -> Response:
    domains = await accounts.signup_domains()
    if request.method == "GET":
        return ctx.page("auth/signup.html", domains=domains)
    form = await read_form(ctx)
    values = _person_fields(form)
    try:
        account = await accounts.sign_up(**values)
    except DomainError as exc:
        return ctx.form_error("auth/signup.html", exc, form=values, domains=domains)
    return await _signed_in(ctx, account, "/settings/profile?welcome=1")


@view(login=False)
async def password_reset(request: Request, ctx: Ctx) -> Response:
    token = request.path_params["token"]
    try:
        reset = await accounts.open_password_reset(token)
    except DomainError as exc:
        return ctx.form_error("auth/invalid_link.html", exc)
    if request.method == "GET":
        return ctx.page("auth/reset.html", person=reset.account.actor)
    form = await read_form(ctx)
    password = field_text(form, "password", 1000)
    try:
        if password != form.get("password_again"):
            raise DomainError("The passwords differ.", "password_again")
        await accounts.reset_password(token, password)
    except DomainError as exc:
        return ctx.form_error("auth/reset.html", exc, person=reset.account.actor)
    return RedirectResponse("/login?reset=1", status_code=303)


@view(login=False)
async def language(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    locale = field_text(form, "locale", 10)
    if ctx.account is not None:
        await accounts.set_locale(ctx.account, locale)
    elif locale in {"en", "nl"}:
        ctx.new_cookies[LANG_COOKIE] = locale
    return RedirectResponse(safe_next(field_text(form, "next", 500) or "/"), status_code=303)


async def healthz(request: Request) -> Response:
    """For container health checks and load balancers: the process answers."""
    return Response("ok", media_type="text/plain")


routes = [
    Route("/setup", setup, methods=["GET", "POST"]),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["GET", "POST"]),
    Route("/invite/{token}", invitation, methods=["GET", "POST"]),
    Route("/signup", signup, methods=["GET", "POST"]),
    Route("/reset/{token}", password_reset, methods=["GET", "POST"]),
    Route("/language", language, methods=["POST"]),
    Route("/healthz", healthz),
]
