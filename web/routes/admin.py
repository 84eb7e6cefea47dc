"""Administration: invitations, who may sign up, the accounts of this instance, which
servers it federates with, and the moderators' report queue.

Every page here is for administrators only (``view(admin=True)``); the rules themselves
(who may change whose role, what deactivation ends) live in ``services.accounts``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet import urls
from fediverse_intranet.errors import DomainError, InvalidInput
from fediverse_intranet.models import Account, Role
from fediverse_intranet.services import accounts, federation_policy, reports
from fediverse_intranet.services.federation_policy import FederationMode
from web import i18n
from web.context import Ctx, field_text, read_form, view
from web.params import path_id, query_int

ROLES = tuple(Role)
MAX_DOMAINS_TEXT = 5_000
MAX_FEDERATION_TEXT = 200_000  # a shared blocklist of a few thousand domains
ACCOUNT_EVENTS = {"role", "deactivated", "reactivated"}


def _path_id(request: Request, name: str) -> int:
    """An id from the URL; anything that is not a plausible id is a page that does not exist."""
    return path_id(request, name)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput("Choose a role from the list.", field="role") from None


@view(admin=True)
async def overview(request: Request, ctx: Ctx) -> Response:
    people = await accounts.list_accounts()
    return ctx.page(
        "admin/index.html",
        pending_count=len(await accounts.pending_invitations()),
        domains=await accounts.signup_domains(),
        account_count=len(people),
        inactive_count=sum(1 for person in people if not person.is_active),
        policy=await federation_policy.current(),
        open_report_count=len(await reports.open_reports()),
    )


# --- invitations ---------------------------------------------------------------------------------


async def _invitations_page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    values.setdefault("form", {"email": "", "role": Role.MEMBER.value})
    return ctx.page(
        "admin/invitations.html",
        status_code=status,
        pending=await accounts.pending_invitations(),
        roles=ROLES,
        **values,
    )


@view(admin=True)
async def invitations(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        return await _invitations_page(ctx, withdrawn=request.query_params.get("withdrawn") == "1")
    form = await read_form(ctx)
    values = {"email": field_text(form, "email", 300), "role": field_text(form, "role", 32)}
    try:
        token = await accounts.create_invitation(
            ctx.account,  # type: ignore[arg-type]
            values["email"],
            _role(values["role"]),
        )
    except DomainError as exc:
        return await _invitations_page(
            ctx, status=exc.status, errors=_errors(exc, {"email", "role"}), form=values
        )
    # The link is shown on this answer only: the database keeps just the token's hash.
    return await _invitations_page(
        ctx,
        created_link=urls.token_link("invite", token),
        created_email=values["email"].strip().lower(),
        days=accounts.INVITATION_DAYS,
    )


@view(admin=True)
async def withdraw_invitation(request: Request, ctx: Ctx) -> Response:
    await read_form(ctx)
    await accounts.withdraw_invitation(ctx.account, _path_id(request, "invitation_id"))  # type: ignore[arg-type]
    return RedirectResponse("/admin/invitations?withdrawn=1", status_code=303)


# --- self sign-up --------------------------------------------------------------------------------


@view(admin=True)
async def signup_domains(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        domains = await accounts.signup_domains()
        return ctx.page(
            "admin/signup.html",
            domains=domains,
            form={"signup_domains": "\n".join(domains)},
            saved=request.query_params.get("saved") == "1",
        )
    form = await read_form(ctx)
    text = field_text(form, "signup_domains", MAX_DOMAINS_TEXT + 1)
    try:
        if len(text) > MAX_DOMAINS_TEXT:
            raise InvalidInput(
                "Use at most %(max)s characters.", field="signup_domains", max=MAX_DOMAINS_TEXT
            )
        await accounts.set_signup_domains(ctx.account, text)  # type: ignore[arg-type]
    except DomainError as exc:
        return ctx.form_error(
            "admin/signup.html",
            exc,
            domains=await accounts.signup_domains(),
            form={"signup_domains": text[:MAX_DOMAINS_TEXT]},
        )
    return RedirectResponse("/admin/signup?saved=1", status_code=303)


# --- federation ----------------------------------------------------------------------------------


async def _federation_page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    policy = await federation_policy.current()
    servers, server_count = await federation_policy.known_servers()
    values.setdefault("form", {"mode": policy.mode.value, "domains": "\n".join(policy.domains)})
    return ctx.page(
        "admin/federation.html",
        status_code=status,
        policy=policy,
        modes=tuple(FederationMode),
        servers=servers,
        server_count=server_count,
        **values,
    )


@view(admin=True)
async def federation(request: Request, ctx: Ctx) -> Response:
    if request.method == "GET":
        return await _federation_page(ctx, saved=request.query_params.get("saved") == "1")
    form = await read_form(ctx)
    values = {
        "mode": field_text(form, "mode", 32),
        "domains": field_text(form, "domains", MAX_FEDERATION_TEXT + 1),
    }
    try:
        if len(values["domains"]) > MAX_FEDERATION_TEXT:
            raise InvalidInput(
                "Use at most %(max)s characters.", field="domains", max=MAX_FEDERATION_TEXT
            )
        await federation_policy.set_policy(ctx.account, values["mode"], values["domains"])  # type: ignore[arg-type]
    except DomainError as exc:
        values["domains"] = values["domains"][:MAX_FEDERATION_TEXT]
        return await _federation_page(
            ctx, status=exc.status, errors=_errors(exc, {"mode", "domains"}), form=values
        )
    return RedirectResponse("/admin/federation?saved=1", status_code=303)


# --- reports -------------------------------------------------------------------------------------


@view(admin=True)
async def report_queue(request: Request, ctx: Ctx) -> Response:
    queue = [
        (report, await reports.reported_posts(report)) for report in await reports.open_reports()
    ]
    return ctx.page(
        "admin/reports.html",
        queue=queue,
        resolved=request.query_params.get("resolved") == "1",
    )


@view(admin=True)
async def resolve_report(request: Request, ctx: Ctx) -> Response:
    await read_form(ctx)
    await reports.resolve(_path_id(request, "report_id"), ctx.account)  # type: ignore[arg-type]
    return RedirectResponse("/admin/reports?resolved=1", status_code=303)


# --- accounts ------------------------------------------------------------------------------------


def _errors(exc: DomainError, fields: set[str]) -> dict[str, str]:
    """The error beside its field when the page has that field, else at the top."""
    message = i18n.gettext_(exc.message, **exc.params)
    return {exc.field if exc.field in fields else "_form": message}


async def _accounts_page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    return ctx.page(
        "admin/accounts.html",
        status_code=status,
        people=await accounts.list_accounts(),
        roles=ROLES,
        **values,
    )


@view(admin=True)
async def account_list(request: Request, ctx: Ctx) -> Response:
    event = request.query_params.get("done", "")
    subject = None
    if event in ACCOUNT_EVENTS:
        wanted = query_int(request, "account", low=1)
        if wanted is not None:
            subject = next((p for p in await accounts.list_accounts() if p.id == wanted), None)
    return await _accounts_page(ctx, event=event if subject else "", subject=subject)


async def _account_action(request: Request, ctx: Ctx, action: str) -> Response:
    """One form on the accounts page: the outcome, or the refusal, shown on that page."""
    form = await read_form(ctx)
    admin: Account = ctx.account  # type: ignore[assignment]
    try:
        account_id = _path_id(request, "account_id")
        if action == "role":
            await accounts.set_role(admin, account_id, _role(field_text(form, "role", 32)))
            event = "role"
        elif action == "active":
            active = field_text(form, "active", 8) == "1"
            await accounts.set_active(admin, account_id, active)
            event = "reactivated" if active else "deactivated"
        else:
            token = await accounts.issue_password_reset(admin, account_id)
            people = await accounts.list_accounts()
            person = next((p for p in people if p.id == account_id), None)
            # Shown on this answer only, like an invitation link.
            return await _accounts_page(
                ctx,
                reset_link=urls.token_link("reset", token),
                reset_for=person,
                hours=accounts.RESET_HOURS,
            )
    except DomainError as exc:
        return await _accounts_page(ctx, status=exc.status, errors=_errors(exc, set()))
    return RedirectResponse(f"/admin/accounts?done={event}&account={account_id}", status_code=303)


@view(admin=True)
async def change_role(request: Request, ctx: Ctx) -> Response:
    return await _account_action(request, ctx, "role")


@view(admin=True)
async def change_active(request: Request, ctx: Ctx) -> Response:
    return await _account_action(request, ctx, "active")


@view(admin=True)
async def password_reset(request: Request, ctx: Ctx) -> Response:
    return await _account_action(request, ctx, "reset")


routes = [
    Route("/admin", overview),
    Route("/admin/invitations", invitations, methods=["GET", "POST"]),
    Route("/admin/invitations/{invitation_id}/withdraw", withdraw_invitation, methods=["POST"]),
    Route("/admin/signup", signup_domains, methods=["GET", "POST"]),
    Route("/admin/federation", federation, methods=["GET", "POST"]),
    Route("/admin/reports", report_queue),
    Route("/admin/reports/{report_id}/resolve", resolve_report, methods=["POST"]),
    Route("/admin/accounts", account_list),
    Route("/admin/accounts/{account_id}/role", change_role, methods=["POST"]),
    Route("/admin/accounts/{account_id}/active", change_active, methods=["POST"]),
    Route("/admin/accounts/{account_id}/reset", password_reset, methods=["POST"]),
]
