"""Per-request context: who is signed in, their language, and the CSRF token of the form.

Every page goes through ``view``: it loads the context, asks for sign-in where needed, checks
the CSRF token of every POST, and turns domain errors into pages. One place for each rule.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fediverse_intranet import instance
from fediverse_intranet.errors import DomainError, InvalidInput
from fediverse_intranet.models import Account, Actor
from fediverse_intranet.services import accounts, notifications
from web import i18n
from web.templating import render

SESSION_COOKIE = "fi_session"
CSRF_COOKIE = "fi_csrf"
LANG_COOKIE = "fi_lang"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 1024 * 1024
MAX_UPLOAD_PART = 9 * 1024 * 1024
NONCE_MIN = 32


class CsrfFailed(DomainError):
    status = 403


@dataclass
class Ctx:
    request: Request
    account: Account | None
    locale: str
    csrf_token: str
    unread: int = 0
    session_expired: bool = False
    expected_csrf: str = ""
    new_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        assert self.account is not None
        return self.account.actor

    def page(self, template: str, status_code: int = 200, **values: Any) -> Response:
        values.setdefault("errors", {})
        values.setdefault("form", {})
        return render(
            template,
            {
                "request": self.request,
                "ctx": self,
                "me": self.account.actor if self.account else None,
                "account": self.account,
                "instance_name": instance.current().instance_name or instance.current().domain,
                **values,
            },
            status_code,
        )

    def form_error(self, template: str, error: DomainError, **values: Any) -> Response:
        """The same form again, with the message beside the field it concerns."""
        message = i18n.gettext_(error.message, **error.params)
        errors = {error.field or "_form": message}
        return self.page(template, status_code=error.status, errors=errors, **values)


def csrf_token_for(binding: str) -> str:
    """The form token for what it is bound to (see ``csrf_binding``): signed with the
    instance's key, so a planted cookie alone forges nothing."""
    key = instance.current().secret_key.encode()
    return hmac.new(key, binding.encode(), "sha256").hexdigest()


def csrf_binding(session_token: str, nonce: str) -> str:
    """What a form token is bound to: the session for a signed-in person, so a token taken
    from another session (or from a page seen before signing in) is refused; the
    pre-session cookie ``fi_csrf`` for the forms of someone not signed in (sign-in itself).
    Empty when the request carries neither: then no token is right."""
    if session_token:
        return f"session:{session_token}"
    return f"anonymous:{nonce}" if len(nonce) >= NONCE_MIN else ""


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def new_nonce() -> str:
    """A fresh pre-session cookie; made again at sign-in and sign-out, with the session."""
    return secrets.token_urlsafe(32)


async def signed_in(request: Request) -> Account | None:
    """The account whose session cookie came with the request, if any (the session renewed
    while in use); for views and for file routes that set no cookies alike."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return await accounts.session_account(token) if token else None


async def _load(request: Request) -> Ctx:
    token = request.cookies.get(SESSION_COOKIE, "")
    account = await signed_in(request)
    locale = i18n.choose_locale(
        account.locale if account else request.cookies.get(LANG_COOKIE, ""),
        request.headers.get("accept-language", ""),
    )
    i18n.activate(locale)
    sent_nonce = request.cookies.get(CSRF_COOKIE, "")
    nonce = sent_nonce if len(sent_nonce) >= NONCE_MIN else new_nonce()
    session = token if account is not None else ""
    # What this request's own cookies entitle it to post: nothing for a nonce made just now.
    expected = csrf_binding(session, sent_nonce)
    ctx = Ctx(
        request,
        account,
        locale,
        csrf_token_for(csrf_binding(session, nonce)),
        session_expired=bool(token) and account is None,
        expected_csrf=csrf_token_for(expected) if expected else "",
    )
    if nonce != sent_nonce:
        ctx.new_cookies[CSRF_COOKIE] = nonce
    if account is not None:
        ctx.unread = await notifications.unread_count(account.actor)
    return ctx


async def read_form(ctx: Ctx, uploads: bool = False) -> FormData:
    """The posted form, after its CSRF token was checked against the session (or, signed
    out, the pre-session cookie) it was issued for."""
    try:
        form = await ctx.request.form(
            max_files=8 if uploads else 0,
            max_fields=200,
            max_part_size=MAX_UPLOAD_PART if uploads else MAX_FORM_BYTES,
        )
    except HTTPException as exc:
        if exc.status_code == 413:
            raise
        raise DomainError("The form could not be read. Please try again.") from None
    sent = form.get(CSRF_FIELD, "")
    if (
        not isinstance(sent, str)
        or not ctx.expected_csrf
        or not hmac.compare_digest(sent, ctx.expected_csrf)
    ):
        raise CsrfFailed("This form has expired. Go back, reload the page and try again.")
    return form


def field_text(form: FormData, name: str, limit: int = 200_000) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


E = TypeVar("E", bound=Enum)


def choice(enum: type[E], value: str, field: str) -> E:
    """A value from a select or radio group, or a field error: forms can be tampered with."""
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput("Choose an option from the list.", field=field) from None


def _set_cookies(response: Response, ctx: Ctx) -> None:
    secure = instance.current().secure_cookies
    for name, value in ctx.new_cookies.items():
        max_age = None if value else 0
        if name == SESSION_COOKIE and value:
            max_age = instance.current().session_days * 86400
        if name == LANG_COOKIE:
            max_age = 365 * 86400
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/"
        )


def sign_in_redirect(request: Request, expired: bool) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = f"next={quote(target)}" + ("&expired=1" if expired else "")
    return RedirectResponse(f"/login?{query}", status_code=303)


View = Callable[[Request, Ctx], Awaitable[Response]]


def view(
    *, login: bool = True, admin: bool = False, uploads: bool = False
) -> Callable[[View], Callable]:
    """Wrap a page: context, sign-in, CSRF on POST, and domain errors shown as pages.

    The CSRF token of every POST is checked here, before the handler runs, so a handler
    cannot forget it; ``read_form`` in the handler then returns the already-checked form.
    ``uploads`` allows files in the form (compose, profile photo).
    """

    def decorate(handler: View) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            ctx = await _load(request)
            if ctx.session_expired:
                ctx.new_cookies[SESSION_COOKIE] = ""
            if (login or admin) and ctx.account is None:
                response = (
                    sign_in_redirect(request, ctx.session_expired)
                    if request.method == "GET" or ctx.session_expired
                    else error_page(ctx, 401, "Please sign in first.")
                )
            elif admin and not ctx.account.is_admin:  # type: ignore[union-attr]
                response = error_page(ctx, 403, "Only an administrator may do this.")
            else:
                try:
                    if request.method == "POST":
                        await read_form(ctx, uploads=uploads)
                    response = await handler(request, ctx)
                except DomainError as exc:
                    response = error_page(ctx, exc.status, exc.message, **exc.params)
            _set_cookies(response, ctx)
            return response

        return endpoint

    return decorate


def error_page(ctx: Ctx, status: int, message: str, **params: object) -> Response:
    return ctx.page(
        "error.html", status_code=status, message=i18n.gettext_(message, **params), status=status
    )
