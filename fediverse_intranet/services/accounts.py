"""Accounts: first admin, invitations, domain-limited sign-up, sign-in, roles, password resets."""

from __future__ import annotations

import re
from datetime import timedelta

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from fediverse_intranet import instance, urls
from fediverse_intranet.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from fediverse_intranet.models import (
    Account,
    Actor,
    Invitation,
    LoginFailure,
    PasswordReset,
    Role,
    WebSession,
)
from fediverse_intranet.services import settings_store
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.passwords import DUMMY_HASH, hash_password, verify_password
from fediverse_intranet.services.tokens import new_token, token_hash

USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@([a-z0-9-]+\.)+[a-z]{2,63}$")
RESERVED_USERNAMES = frozenset(
    {"admin", "root", "instance", "instance_actor", "actor", "system", "support"}
)
INVITATION_DAYS = 14
RESET_HOURS = 24
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 30


def clean_username(raw: str) -> str:
    username = raw.strip().lower().removeprefix("@")
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "A username has 1 to 30 letters a-z, digits or underscores.", field="username"
        )
    return username


def clean_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidInput("Enter a valid email address.", field="email")
    return email


def clean_display_name(raw: str) -> str:
    name = " ".join(raw.split())
    if len(name) > 100:
        raise InvalidInput("Use at most %(max)s characters.", field="display_name", max=100)
    return name


async def has_accounts() -> bool:
    return await Account.exists()


async def create_account(
    username: str,
    email: str,
    password: str,
    *,
    role: Role = Role.MEMBER,
    display_name: str = "",
    reserved_ok: bool = False,
) -> Account:
    """The one way an account comes to exist (setup, invitation, sign-up, command line)."""
    username = clean_username(username)
    email = clean_email(email)
    display_name = clean_display_name(display_name)
    if username in RESERVED_USERNAMES and not reserved_ok:
        raise InvalidInput("This username is reserved.", field="username")
    password_hash = await hash_password(password)
    async with in_transaction():
        if await Actor.filter(username=username, domain="").exists():
            raise Conflict("This username is taken.", field="username")
        if await Account.filter(email=email).exists():
            raise Conflict("An account with this email address exists.", field="email")
        actor = await Actor.create(
            username=username,
            domain="",
            uri=urls.actor_uri(username),
            display_name=display_name,
        )
        return await Account.create(
            actor=actor, email=email, password_hash=password_hash, role=role
        )


async def create_first_admin(
    username: str, email: str, password: str, display_name: str
) -> Account:
    if await has_accounts():
        raise PermissionDenied("This instance has been set up already.")
    return await create_account(
        username, email, password, role=Role.ADMIN, display_name=display_name, reserved_ok=True
    )


# --- sign-in and sessions -----------------------------------------------------------------------


def _recent(key: str, address: str) -> tuple[QuerySet[LoginFailure], QuerySet[LoginFailure]]:
    since = now() - THROTTLE_WINDOW
    return (
        LoginFailure.filter(login=key, created_at__gte=since),
        LoginFailure.filter(address=address, created_at__gte=since),
    )


async def _count_attempt(key: str, address: str) -> None:
    """Count the attempt before its password is checked, so parallel guesses cannot all pass.

    Once a name or address is throttled, further attempts are refused without a row, so
    guessing on does not prolong the wait. Otherwise the attempt is written and committed
    first, as the failure it will be unless the password is right, and only then are the
    recent rows counted: the attempt that commits n-th sees at least n rows, in any process,
    on SQLite and on PostgreSQL (read committed; not inside a transaction, where the count
    would not see the others). So at most ``MAX_FAILURES_PER_LOGIN`` passwords are checked
    per window however many guesses arrive at once; the ones refused in the race stay
    counted, as the guesses they were.
    """
    per_login, per_address = _recent(key, address)
    refused = RateLimited("Too many failed attempts. Wait 15 minutes and try again.")
    if (
        await per_login.count() >= MAX_FAILURES_PER_LOGIN
        or await per_address.count() >= MAX_FAILURES_PER_ADDRESS
    ):
        raise refused
    await LoginFailure.create(login=key, address=address)
    if (
        await per_login.count() > MAX_FAILURES_PER_LOGIN
        or await per_address.count() > MAX_FAILURES_PER_ADDRESS
    ):
        raise refused


async def authenticate(login: str, password: str, address: str) -> Account:
    """Check a name or email and password, refusing fast guessing per name and per address."""
    # "@alice", as colleagues mention her, is a username too.
    login = login.strip().lower()[:254].removeprefix("@")
    address = address[:64]
    account = None
    # A name that cannot exist is not looked up (the database refuses over-long values).
    if "@" in login or USERNAME_RE.match(login):
        lookup = {"email": login} if "@" in login else {"actor__username": login}
        account = await Account.filter(**lookup, actor__domain="").select_related("actor").first()
    # One count per person, however they are named: username, @username or email address.
    key = account.actor.username if account else login
    await _count_attempt(key, address)
    ok = await verify_password(account.password_hash if account else DUMMY_HASH, password)
    if not account or not ok or not account.is_active:
        raise InvalidInput("The name or password is not right.", field="password")
    await LoginFailure.filter(login=key).delete()
    account.last_login_at = now()
    await account.save(update_fields=["last_login_at"])
    return account


async def start_session(account: Account) -> str:
    token = new_token()
    days = instance.current().session_days
    await WebSession.create(
        key_hash=token_hash(token), account=account, expires_at=now() + timedelta(days=days)
    )
    return token


async def session_account(token: str) -> Account | None:
    """The signed-in account for a session cookie, renewing it while it is in use."""
    session = (
        await WebSession.filter(key_hash=token_hash(token), expires_at__gt=now())
        .select_related("account__actor")
        .first()
    )
    if session is None or not session.account.is_active:
        return None
    current = now()
    if current - session.last_seen_at > timedelta(hours=1):
        session.last_seen_at = current
        session.expires_at = current + timedelta(days=instance.current().session_days)
        await session.save(update_fields=["last_seen_at", "expires_at"])
    return session.account


async def end_session(token: str) -> None:
    await WebSession.filter(key_hash=token_hash(token)).delete()


# --- invitations and sign-up --------------------------------------------------------------------


def _require_admin(account: Account) -> None:
    if not account.is_admin:
        raise PermissionDenied("Only an administrator may do this.")


async def create_invitation(admin: Account, email: str = "", role: Role = Role.MEMBER) -> str:
    """A single-use link; the token is shown once and only its hash is kept."""
    _require_admin(admin)
    email = clean_email(email) if email.strip() else ""
    token = new_token()
    await Invitation.create(
        token_hash=token_hash(token),
        email=email,
        role=role,
        created_by=admin,
        expires_at=now() + timedelta(days=INVITATION_DAYS),
    )
    return token


async def open_invitation(token: str) -> Invitation:
    invitation = await Invitation.filter(
        token_hash=token_hash(token), used_at=None, expires_at__gt=now()
    ).first()
    if invitation is None:
        raise NotFound("This invitation is not valid: it was used, withdrawn or has expired.")
    return invitation


async def accept_invitation(
    token: str, username: str, email: str, password: str, display_name: str
) -> Account:
    invitation = await open_invitation(token)
    if invitation.email and clean_email(email) != invitation.email:
        raise InvalidInput("Use the email address the invitation was sent to.", field="email")
    async with in_transaction():
        # Claim first: of two people using one link at once, only one gets an account.
        if not await Invitation.filter(id=invitation.id, used_at=None).update(used_at=now()):
            raise NotFound("This invitation is not valid: it was used, withdrawn or has expired.")
        account = await create_account(
            username, email, password, role=invitation.role, display_name=display_name
        )
        await Invitation.filter(id=invitation.id).update(used_by_id=account.id)
    return account


async def pending_invitations() -> list[Invitation]:
    return (
        await Invitation.filter(used_at=None, expires_at__gt=now())
        .select_related("created_by__actor")
        .order_by("-id")
    )


async def withdraw_invitation(admin: Account, invitation_id: int) -> None:
    _require_admin(admin)
    await Invitation.filter(id=invitation_id, used_at=None).delete()


async def signup_domains() -> list[str]:
    raw = await settings_store.get("signup_domains")
    return [d for d in raw.split() if d]


async def set_signup_domains(admin: Account, text: str) -> list[str]:
    """Self sign-up is open only to these email domains; an empty list closes it."""
    _require_admin(admin)
    domains = []
    for part in re.split(r"[\s,;]+", text.strip().lower()):
        domain = part.removeprefix("@")
        if not domain:
            continue
        if not re.match(r"^([a-z0-9-]+\.)+[a-z]{2,63}$", domain):
            raise InvalidInput(
                "%(domain)s is not a domain name.", field="signup_domains", domain=domain
            )
        if domain not in domains:
            domains.append(domain)
    await settings_store.put("signup_domains", " ".join(domains))
    return domains


async def sign_up(username: str, email: str, password: str, display_name: str) -> Account:
    domains = await signup_domains()
    if not domains:
        raise PermissionDenied("Sign-up is closed here. Ask an administrator for an invitation.")
    email = clean_email(email)
    if email.rsplit("@", 1)[1] not in domains:
        raise InvalidInput(
            "Sign-up is open to addresses at %(domains)s only.",
            field="email",
            domains=", ".join("@" + d for d in domains),
        )
    return await create_account(username, email, password, display_name=display_name)


# --- administration and passwords ---------------------------------------------------------------


async def list_accounts() -> list[Account]:
    return await Account.all().select_related("actor").order_by("actor__username")


async def _other_account(admin: Account, account_id: int) -> Account:
    _require_admin(admin)
    account = await Account.filter(id=account_id).select_related("actor").first()
    if account is None:
        raise NotFound("No such account.")
    return account


async def set_role(admin: Account, account_id: int, role: Role) -> Account:
    account = await _other_account(admin, account_id)
    if account.id == admin.id and role != Role.ADMIN:
        raise PermissionDenied("You cannot take away your own administrator role.")
    account.role = role
    await account.save(update_fields=["role"])
    return account


async def set_active(admin: Account, account_id: int, active: bool) -> Account:
    account = await _other_account(admin, account_id)
    if account.id == admin.id:
        raise PermissionDenied("You cannot deactivate your own account.")
    account.is_active = active
    await account.save(update_fields=["is_active"])
    if not active:
        await WebSession.filter(account=account).delete()
    return account


async def issue_password_reset(admin: Account, account_id: int) -> str:
    account = await _other_account(admin, account_id)
    token = new_token()
    # The newest link is the only one: a link the admin issued before stops working.
    await PasswordReset.filter(account=account, used_at=None).update(expires_at=now())
    await PasswordReset.create(
        token_hash=token_hash(token),
        account=account,
        expires_at=now() + timedelta(hours=RESET_HOURS),
    )
    return token


async def open_password_reset(token: str) -> PasswordReset:
    reset = (
        await PasswordReset.filter(token_hash=token_hash(token), used_at=None, expires_at__gt=now())
        .select_related("account__actor")
        .first()
    )
    if reset is None:
        raise NotFound("This link is not valid: it was used or has expired.")
    return reset


async def reset_password(token: str, password: str) -> Account:
    reset = await open_password_reset(token)
    new_hash = await hash_password(password)
    async with in_transaction():
        if not await PasswordReset.filter(id=reset.id, used_at=None).update(used_at=now()):
            raise NotFound("This link is not valid: it was used or has expired.")
        await Account.filter(id=reset.account_id).update(password_hash=new_hash)
        # Any other open link for this account would undo the new password: close them too.
        await PasswordReset.filter(account_id=reset.account_id, used_at=None).update(
            expires_at=now()
        )
        await WebSession.filter(account_id=reset.account_id).delete()
    return reset.account


async def change_password(
    account: Account, current_password: str, new_password: str, keep_session: str = ""
) -> None:
    """A new password ends every other session: whoever knew the old one is signed out."""
    if not await verify_password(account.password_hash, current_password):
        raise InvalidInput("Your current password is not right.", field="current_password")
    account.password_hash = await hash_password(new_password)
    await account.save(update_fields=["password_hash"])
    await WebSession.filter(account=account).exclude(key_hash=token_hash(keep_session)).delete()


async def set_locale(account: Account, locale: str) -> None:
    if locale not in {"", "en", "nl"}:
        raise InvalidInput("Choose a language from the list.", field="locale")
    account.locale = locale
    await account.save(update_fields=["locale"])
