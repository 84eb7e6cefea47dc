"""Accounts through the browser: first-admin setup, sign-in and out, sessions, invitations,
self sign-up, password resets, CSRF and the checks on what people type."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import BASE_URL, PASSWORD, make_account

from fediverse_intranet.models import (
    Account,
    Actor,
    Invitation,
    LoginFailure,
    PasswordReset,
    Role,
    WebSession,
)
from fediverse_intranet.services import accounts, settings_store
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.passwords import verify_password
from web.context import CSRF_COOKIE, SESSION_COOKIE

NEW_PASSWORD = "a brand new passphrase"
FORM_EXPIRED = "This form has expired"


def shown_link(html: str, kind: str) -> str:
    """The path of the one-time link an admin page shows in its read-only field."""
    match = re.search(rf'value="{re.escape(BASE_URL)}(/{kind}/[A-Za-z0-9_-]+)"', html)
    assert match, f"no {kind} link on the page"
    return match.group(1)


async def snapshot() -> dict:
    """Everything a POST to the account pages could change."""
    return {
        "accounts": sorted(
            (a.id, a.email, a.password_hash, a.role, a.is_active, a.locale, a.last_login_at)
            for a in await Account.all()
        ),
        "actors": await Actor.all().count(),
        "invitations": sorted(
            (i.id, i.email, i.role, i.used_at, i.expires_at) for i in await Invitation.all()
        ),
        "resets": sorted((r.id, r.used_at, r.expires_at) for r in await PasswordReset.all()),
        "sessions": sorted(s.key_hash for s in await WebSession.all()),
        "settings": await settings_store.get("signup_domains"),
        "failures": await LoginFailure.all().count(),
    }


async def is_signed_in(person) -> bool:
    response = await person.get("/notifications")
    return response.status_code == 200


async def sign_in(person, login: str, password: str = PASSWORD, next_: str = "/"):
    return await person.submit("/login", {"login": login, "password": password, "next": next_})


SETUP = {
    "display_name": "Alice Admin",
    "username": "alice",
    "email": "alice@gemeente-x.nl",
    "password": PASSWORD,
    "password_again": PASSWORD,
}


# --- first administrator -------------------------------------------------------------------------


async def test_first_admin_sets_up_the_instance(browser):
    person = await browser()
    assert (await person.get("/login")).headers["location"] == "/setup"
    page = await person.get("/setup")
    assert page.status_code == 200
    assert "Set up this instance" in page.text

    response = await person.submit("/setup", SETUP)
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/profile?welcome=1"
    account = await Account.get(email="alice@gemeente-x.nl").prefetch_related("actor")
    assert account.role == Role.ADMIN
    assert account.actor.username == "alice"
    assert account.actor.display_name == "Alice Admin"
    assert await verify_password(account.password_hash, PASSWORD)
    # Signed in straight away, as an administrator.
    assert (await person.get("/admin")).status_code == 200

    # Setup is over: the page sends people to sign in, and a second setup is refused.
    assert (await person.get("/setup")).headers["location"] == "/login"
    intruder = await browser()
    second = await intruder.submit(
        "/setup", {**SETUP, "username": "mallory", "email": "mallory@example.com"}
    )
    assert second.status_code == 303
    assert second.headers["location"] == "/login"
    assert await Account.all().count() == 1
    assert not await Actor.filter(username="mallory").exists()
    assert SESSION_COOKIE not in intruder.cookies


async def test_setup_passwords_must_match(browser):
    person = await browser()
    response = await person.submit("/setup", {**SETUP, "password_again": "something else!"})
    assert response.status_code == 400
    assert "The passwords differ." in response.text
    assert not await accounts.has_accounts()


# --- signing in and out --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login", ["bob", "BOB", "@bob", "bob@gemeente-x.nl", " Bob@Gemeente-X.nl "]
)
async def test_sign_in_with_username_or_email(browser, alice, bob, login):
    person = await browser()
    assert not await is_signed_in(person)
    response = await sign_in(person, login)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert person.cookies.get(SESSION_COOKIE)
    assert await is_signed_in(person)
    stored = await Account.get(id=bob.id)
    assert stored.last_login_at is not None
    assert await WebSession.filter(account_id=bob.id).count() == 1


@pytest.mark.parametrize("login", ["bob", "nobody"])
async def test_wrong_password_or_unknown_name_is_refused(browser, alice, bob, login):
    person = await browser()
    response = await sign_in(person, login, "not the password")
    assert response.status_code == 400
    assert "The name or password is not right." in response.text
    assert 'value="' + login + '"' in response.text  # the name stays filled in
    assert not person.cookies.get(SESSION_COOKIE)
    assert not await is_signed_in(person)
    assert await WebSession.all().count() == 0


async def test_sign_in_is_throttled_after_five_failures(browser, alice, bob):
    person = await browser()
    # However the name is written, the failures count for one person.
    for login in ["bob", "@bob", "bob@gemeente-x.nl", "BOB", "bob"]:
        response = await sign_in(person, login, "wrong guess")
        assert response.status_code == 400
    response = await sign_in(person, "bob", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts. Wait 15 minutes and try again." in response.text
    assert not person.cookies.get(SESSION_COOKIE)
    assert await WebSession.filter(account_id=bob.id).count() == 0

    # Someone else is not locked out, and after the window bob may try again.
    colleague = await browser()
    assert (await sign_in(colleague, "alice")).status_code == 303
    await LoginFailure.all().update(created_at=now() - timedelta(minutes=16))
    assert (await sign_in(person, "bob")).status_code == 303


async def test_sign_out_ends_the_session(browser, alice, bob):
    person = await browser()
    assert (await sign_in(person, "bob")).status_code == 303
    old_cookie = person.cookies.get(SESSION_COOKIE)
    response = await person.submit("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert not person.cookies.get(SESSION_COOKIE)
    assert await WebSession.filter(account_id=bob.id).count() == 0

    # The old cookie, replayed, no longer signs anyone in.
    thief = await browser()
    thief.cookies.set(SESSION_COOKIE, old_cookie)
    replay = await thief.get("/notifications")
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/login?")


async def test_sign_out_by_get_does_nothing(browser, alice, bob):
    person = await browser(bob)
    response = await person.get("/logout")
    assert response.status_code == 303
    assert await is_signed_in(person)


async def test_expired_session_asks_to_sign_in_again(browser, alice, bob):
    person = await browser(alice)
    assert await is_signed_in(person)
    ended = person.cookies.get(SESSION_COOKIE)
    await WebSession.filter(account_id=alice.id).update(expires_at=now() - timedelta(minutes=1))

    response = await person.get("/admin/accounts")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/accounts&expired=1"
    # The browser is told to forget the ended session.
    assert any(
        c.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in c
        for c in response.headers.get_list("set-cookie")
    )
    notice = await person.get(response.headers["location"])
    assert notice.status_code == 200
    assert "Your session has ended. Please sign in again." in notice.text

    # A form sent with the ended session changes nothing, even with a good CSRF token.
    person.cookies.set(SESSION_COOKIE, ended)
    before = await snapshot()
    posted = await person.submit("/admin/signup", {"signup_domains": "gemeente-x.nl"})
    assert posted.status_code == 303
    assert "expired=1" in posted.headers["location"]
    assert await snapshot() == before
    assert await accounts.signup_domains() == []


async def test_expired_session_post_is_not_applied(browser, alice, bob):
    person = await browser(alice)
    await WebSession.filter(account_id=alice.id).update(expires_at=now() - timedelta(seconds=1))
    before = await snapshot()
    posted = await person.submit(f"/admin/accounts/{bob.id}/active", {"active": "0"})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/login?")
    assert "expired=1" in posted.headers["location"]
    assert await snapshot() == before
    assert (await Account.get(id=bob.id)).is_active


# --- invitations ---------------------------------------------------------------------------------


JOIN = {
    "display_name": "Carol Clerk",
    "username": "carol",
    "email": "carol@gemeente-x.nl",
    "password": PASSWORD,
}


async def test_invitation_link_works_once(browser, alice):
    admin = await browser(alice)
    created = await admin.submit("/admin/invitations", {"email": "", "role": "communications"})
    assert created.status_code == 200
    path = shown_link(created.text, "invite")

    carol = await browser()
    page = await carol.get(path)
    assert page.status_code == 200
    assert "You are invited" in page.text
    joined = await carol.submit(path, JOIN)
    assert joined.status_code == 303
    assert joined.headers["location"] == "/settings/profile?welcome=1"
    assert await is_signed_in(carol)
    account = await Account.get(email="carol@gemeente-x.nl").prefetch_related("actor")
    assert account.role == Role.COMMUNICATIONS
    assert account.actor.display_name == "Carol Clerk"
    invitation = await Invitation.get()
    assert invitation.used_at is not None
    assert invitation.used_by_id == account.id

    # The second time the link is dead, for viewing and for joining.
    dave = await browser()
    again = await dave.get(path)
    assert again.status_code == 404
    assert "Link not valid" in again.text
    assert "This invitation is not valid" in again.text
    reused = await dave.submit(path, {**JOIN, "username": "dave", "email": "dave@gemeente-x.nl"})
    assert reused.status_code == 404
    assert not await Actor.filter(username="dave").exists()
    assert not dave.cookies.get(SESSION_COOKIE)


async def test_invitation_with_taken_username_stays_usable(browser, alice, bob):
    admin = await browser(alice)
    path = shown_link(
        (await admin.submit("/admin/invitations", {"email": "", "role": "member"})).text, "invite"
    )
    person = await browser()
    taken = await person.submit(path, {**JOIN, "username": "bob"})
    assert taken.status_code == 409
    assert "This username is taken." in taken.text
    assert (await Invitation.get()).used_at is None
    assert (await person.submit(path, JOIN)).status_code == 303


async def test_invitation_bound_to_email_refuses_another_address(browser, alice):
    admin = await browser(alice)
    created = await admin.submit(
        "/admin/invitations", {"email": "Carol@Gemeente-X.nl", "role": "member"}
    )
    path = shown_link(created.text, "invite")
    person = await browser()
    form = await person.get(path)
    assert 'value="carol@gemeente-x.nl"' in form.text
    wrong = await person.submit(path, {**JOIN, "email": "someone@gemeente-x.nl"})
    assert wrong.status_code == 400
    assert "Use the email address the invitation was sent to." in wrong.text
    assert not await Actor.filter(username="carol").exists()
    assert (await Invitation.get()).used_at is None
    right = await person.submit(path, JOIN)
    assert right.status_code == 303
    assert await Account.filter(email="carol@gemeente-x.nl").exists()


async def test_unknown_or_expired_invitation_is_refused(browser, alice):
    person = await browser()
    unknown = await person.get("/invite/not-a-real-token")
    assert unknown.status_code == 404
    assert "Link not valid" in unknown.text
    token = await accounts.create_invitation(alice)
    await Invitation.all().update(expires_at=now() - timedelta(seconds=1))
    expired = await person.submit(f"/invite/{token}", JOIN)
    assert expired.status_code == 404
    assert not await Actor.filter(username="carol").exists()


# --- self sign-up --------------------------------------------------------------------------------


async def test_sign_up_is_closed_by_default(browser, alice):
    person = await browser()
    page = await person.get("/signup")
    assert page.status_code == 200
    assert "Sign-up is closed here." in page.text
    assert 'href="/signup"' not in (await person.get("/login")).text
    refused = await person.submit("/signup", JOIN)
    assert refused.status_code == 403
    assert "Sign-up is closed here." in refused.text
    assert not await Actor.filter(username="carol").exists()


async def test_sign_up_is_open_to_listed_domains_only(browser, alice):
    admin = await browser(alice)
    saved = await admin.submit("/admin/signup", {"signup_domains": "gemeente-x.nl"})
    assert saved.status_code == 303
    person = await browser()
    assert 'href="/signup"' in (await person.get("/login")).text
    assert "@gemeente-x.nl" in (await person.get("/signup")).text

    outsider = await person.submit(
        "/signup", {**JOIN, "username": "eve", "email": "eve@example.com"}
    )
    assert outsider.status_code == 400
    assert "Sign-up is open to addresses at @gemeente-x.nl only." in outsider.text
    assert not await Actor.filter(username="eve").exists()

    insider = await person.submit("/signup", JOIN)
    assert insider.status_code == 303
    account = await Account.get(email="carol@gemeente-x.nl")
    assert account.role == Role.MEMBER
    assert await is_signed_in(person)


# --- password reset ------------------------------------------------------------------------------


async def test_password_reset_link(browser, alice, bob):
    bobs_laptop = await browser(bob)
    assert await is_signed_in(bobs_laptop)
    admin = await browser(alice)
    issued = await admin.submit(f"/admin/accounts/{bob.id}/reset")
    assert issued.status_code == 200
    path = shown_link(issued.text, "reset")

    person = await browser()
    page = await person.get(path)
    assert page.status_code == 200
    assert "For Bob Burger (@bob)." in page.text
    differ = await person.submit(path, {"password": NEW_PASSWORD, "password_again": "other"})
    assert differ.status_code == 400
    assert "The passwords differ." in differ.text
    short = await person.submit(path, {"password": "short", "password_again": "short"})
    assert short.status_code == 400
    assert "Use at least 10 characters." in short.text

    done = await person.submit(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code == 303
    assert done.headers["location"] == "/login?reset=1"
    assert "Your password has been changed." in (await person.get("/login?reset=1")).text
    # Old sessions end; the new password works and the old one does not.
    assert not await is_signed_in(bobs_laptop)
    assert (await sign_in(await browser(), "bob", PASSWORD)).status_code == 400
    assert (await sign_in(await browser(), "bob", NEW_PASSWORD)).status_code == 303

    # The link works once.
    again = await person.submit(path, {"password": "third password!", "password_again": "x"})
    assert again.status_code == 404
    assert "This link is not valid" in again.text
    stored = await Account.get(id=bob.id)
    assert await verify_password(stored.password_hash, NEW_PASSWORD)


async def test_expired_password_reset_link_is_refused(browser, alice, bob):
    token = await accounts.issue_password_reset(alice, bob.id)
    await PasswordReset.all().update(expires_at=now() - timedelta(minutes=1))
    person = await browser()
    page = await person.get(f"/reset/{token}")
    assert page.status_code == 404
    assert "This link is not valid: it was used or has expired." in page.text
    posted = await person.submit(
        f"/reset/{token}", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert posted.status_code == 404
    assert await verify_password((await Account.get(id=bob.id)).password_hash, PASSWORD)


async def test_used_reset_link_closes_the_other_open_links(browser, alice, bob):
    # Two links issued at once (say, by two admins): using one closes the other.
    first = await accounts.issue_password_reset(alice, bob.id)
    await PasswordReset.all().update(expires_at=now() + timedelta(hours=1))
    second_token = await accounts.issue_password_reset(alice, bob.id)
    person = await browser()
    assert (await person.get(f"/reset/{first}")).status_code == 404  # replaced by the second
    done = await person.submit(
        f"/reset/{second_token}", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert await PasswordReset.filter(used_at=None, expires_at__gt=now()).count() == 0


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.fixture
async def scene(browser, alice, bob):
    """An instance with an open invitation, an open reset link for bob and open sign-up."""
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    invite = await accounts.create_invitation(alice)
    reset = await accounts.issue_password_reset(alice, bob.id)
    invitation = await Invitation.get()
    return {
        "alice": alice,
        "bob": bob,
        "invite": invite,
        "reset": reset,
        "invitation_id": invitation.id,
        "bob_id": bob.id,
    }


POSTS = [
    ("/login", None, {"login": "bob", "password": PASSWORD}),
    ("/logout", "bob", {}),
    ("/invite/{invite}", None, JOIN),
    ("/signup", None, JOIN),
    ("/reset/{reset}", None, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}),
    ("/language", "bob", {"locale": "nl", "next": "/"}),
    ("/admin/invitations", "alice", {"email": "", "role": "member"}),
    ("/admin/invitations/{invitation_id}/withdraw", "alice", {}),
    ("/admin/signup", "alice", {"signup_domains": "example.org"}),
    ("/admin/accounts/{bob_id}/role", "alice", {"role": "admin"}),
    ("/admin/accounts/{bob_id}/active", "alice", {"active": "0"}),
    ("/admin/accounts/{bob_id}/reset", "alice", {}),
]


@pytest.mark.parametrize("token", ["missing", "wrong", "right"])
@pytest.mark.parametrize(("url", "who", "data"), POSTS, ids=[p[0] for p in POSTS])
async def test_every_post_needs_the_csrf_token(browser, scene, url, who, data, token):
    person = await browser(scene[who] if who else None)
    url = url.format(**scene)
    before = await snapshot()
    if token == "right":
        # The control: the same request with the token does change something.
        response = await person.submit(url, data)
        assert response.status_code != 403
        assert await snapshot() != before
        return
    sent = dict(data)
    if token == "wrong":
        sent["csrf_token"] = "x" * 43
    response = await person.post(url, data=sent)
    assert response.status_code == 403
    assert FORM_EXPIRED in response.text
    assert await snapshot() == before
    assert SESSION_COOKIE not in response.cookies or who is not None


@pytest.mark.parametrize("token", ["missing", "wrong", "no cookie"])
async def test_setup_needs_the_csrf_token(browser, token):
    person = await browser()
    sent = dict(SETUP)
    if token == "wrong":
        sent["csrf_token"] = "y" * 43
    if token == "no cookie":
        sent["csrf_token"] = person.cookies.get(CSRF_COOKIE)
        person.cookies.delete(CSRF_COOKIE)
    response = await person.post("/setup", data=sent)
    assert response.status_code == 403
    assert FORM_EXPIRED in response.text
    assert not await accounts.has_accounts()


# --- where people land after signing in ----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/login",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "",
    ],
)
async def test_next_never_leaves_the_site(browser, alice, bob, target):
    person = await browser()
    response = await sign_in(person, "bob", next_=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    # Already signed in, the login page sends on at once: also only within the site.
    again = await person.get("/login", params={"next": target})
    assert again.headers["location"] == "/"
    language = await person.submit("/language", {"locale": "en", "next": target})
    assert language.headers["location"] == "/"


async def test_next_within_the_site_is_kept(browser, alice, bob):
    person = await browser()
    redirect = await person.get("/notifications?before=5")
    assert redirect.headers["location"] == "/login?next=/notifications%3Fbefore%3D5"
    form = await person.get(redirect.headers["location"])
    assert 'name="next" value="/notifications?before=5"' in form.text
    response = await sign_in(person, "bob", next_="/notifications?before=5")
    assert response.headers["location"] == "/notifications?before=5"


# --- what people type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "Al ice", "A username has 1 to 30 letters a-z, digits or underscores."),
        ("username", "a" * 40, "A username has 1 to 30 letters a-z, digits or underscores."),
        ("username", "x" * 100_000, "A username has 1 to 30 letters a-z, digits or underscores."),
        ("username", "", "A username has 1 to 30 letters a-z, digits or underscores."),
        ("display_name", "N" * 101, "Use at most 100 characters."),
        ("email", "a" * 250 + "@gemeente-x.nl", "Enter a valid email address."),
        ("email", "not an address", "Enter a valid email address."),
        ("password", "p" * 300, "Use at most 256 characters."),
        ("password", "p" * 100_000, "Use at most 256 characters."),
    ],
)
async def test_bad_fields_get_a_message(browser, field, value, message):
    person = await browser()
    sent = {**SETUP, field: value}
    if field == "password":
        sent["password_again"] = value
    response = await person.submit("/setup", sent)
    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert not await accounts.has_accounts()


async def test_bad_username_on_sign_up_and_invitation(browser, alice):
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    token = await accounts.create_invitation(alice)
    person = await browser()
    for url in ["/signup", f"/invite/{token}"]:
        response = await person.submit(url, {**JOIN, "username": "Al ice"})
        assert response.status_code == 400
        assert "A username has 1 to 30 letters a-z, digits or underscores." in response.text
    assert await Account.all().count() == 1
    assert (await Invitation.get()).used_at is None


async def test_reserved_username_is_refused(browser, alice):
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    person = await browser()
    response = await person.submit("/signup", {**JOIN, "username": "admin"})
    assert response.status_code == 400
    assert "This username is reserved." in response.text


async def test_over_long_login_is_just_a_wrong_name(browser, alice):
    person = await browser()
    response = await sign_in(person, "x" * 100_000, "y" * 100_000)
    assert response.status_code == 400
    assert "The name or password is not right." in response.text


async def test_existing_email_is_refused_on_sign_up(browser, alice):
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    await make_account("carol")
    person = await browser()
    response = await person.submit(
        "/signup", {**JOIN, "username": "carol2", "email": "CAROL@gemeente-x.nl"}
    )
    assert response.status_code == 409
    assert "An account with this email address exists." in response.text
