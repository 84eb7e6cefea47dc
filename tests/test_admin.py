"""Administration in the browser: who may enter, invitations, sign-up domains and accounts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import BASE_URL, PASSWORD, make_account

from fediverse_intranet.models import (
    Account,
    Actor,
    Delivery,
    DeliveryHost,
    Invitation,
    PasswordReset,
    Post,
    Report,
    Role,
    WebSession,
)
from fediverse_intranet.services import accounts, federation_policy, reports
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.tokens import token_hash
from web.context import SESSION_COOKIE

ADMIN_PAGES = [
    "/admin",
    "/admin/invitations",
    "/admin/signup",
    "/admin/accounts",
    "/admin/federation",
    "/admin/reports",
]


def shown_link(html: str, kind: str) -> str:
    match = re.search(rf'value="{re.escape(BASE_URL)}/{kind}/([A-Za-z0-9_-]+)"', html)
    assert match, f"no {kind} link on the page"
    return match.group(1)


def status_message(html: str) -> str:
    """The text of the status messages, without markup and extra space."""
    found = re.findall(r'class="notice" role="status">(.*?)</(?:p|div)>', html, re.S)
    return " ".join(" ".join(re.sub(r"<[^>]+>", " ", part).split()) for part in found)


def row_of(html: str, name: str) -> str:
    """The table row about one person or invitation."""
    for row in re.findall(r"<tr.*?</tr>", html, re.S):
        if name in row:
            return row
    raise AssertionError(f"no row for {name}")


# --- who may enter -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MEMBER, Role.COMMUNICATIONS])
async def test_only_admins_see_the_admin_pages(browser, alice, role):
    carol = await make_account("carol", role)
    person = await browser(carol)
    assert 'href="/admin"' not in (await person.get("/notifications")).text
    for url in ADMIN_PAGES:
        response = await person.get(url)
        assert response.status_code == 403, url
        assert "Only an administrator may do this." in response.text


async def test_non_admin_posts_are_refused(browser, alice, bob):
    person = await browser(bob)
    token_before = await accounts.create_invitation(alice)
    invitation = await Invitation.get()
    attempts = [
        ("/admin/invitations", {"email": "", "role": "admin"}),
        (f"/admin/invitations/{invitation.id}/withdraw", {}),
        ("/admin/signup", {"signup_domains": "gemeente-x.nl"}),
        (f"/admin/accounts/{bob.id}/role", {"role": "admin"}),
        (f"/admin/accounts/{alice.id}/active", {"active": "0"}),
        (f"/admin/accounts/{alice.id}/reset", {}),
    ]
    for url, data in attempts:
        response = await person.submit(url, data)
        assert response.status_code == 403, url
        assert BASE_URL + "/" not in response.text  # no link leaks
    assert await Invitation.all().count() == 1
    assert (await accounts.open_invitation(token_before)).id == invitation.id
    assert await accounts.signup_domains() == []
    assert (await Account.get(id=bob.id)).role == Role.MEMBER
    assert (await Account.get(id=alice.id)).is_active
    assert await PasswordReset.all().count() == 0


async def test_anonymous_visitors_are_sent_to_sign_in(browser, alice):
    person = await browser()
    for url in ADMIN_PAGES:
        response = await person.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    posted = await person.submit("/admin/signup", {"signup_domains": "gemeente-x.nl"})
    assert posted.status_code == 401
    assert await accounts.signup_domains() == []


async def test_admin_pages_are_well_formed(browser, alice, bob):
    admin = await browser(alice)
    await accounts.create_invitation(alice, "carol@gemeente-x.nl")
    for url in ADMIN_PAGES:
        response = await admin.get(url)
        assert response.status_code == 200, url
        html = response.text
        assert html.count("<h1") == 1, url
        assert "style=" not in html and "<script" not in html, url
        assert f'<a href="{url}" aria-current="page">' in html, url
        for match in re.finditer(r"<(?:input|select|textarea)\b[^>]*>", html):
            control = match.group(0)
            if 'type="hidden"' in control:
                continue
            ident = re.search(r'id="([^"]+)"', control)
            assert ident and f'for="{ident.group(1)}"' in html, control
    overview = (await admin.get("/admin")).text
    for link in ADMIN_PAGES[1:]:
        assert f'href="{link}"' in overview


# --- invitations ---------------------------------------------------------------------------------


async def test_create_invitation_shows_the_link_once(browser, alice):
    admin = await browser(alice)
    created = await admin.submit(
        "/admin/invitations", {"email": "Carol@Gemeente-X.nl", "role": "communications"}
    )
    assert created.status_code == 200
    token = shown_link(created.text, "invite")
    assert "Invitation created for carol@gemeente-x.nl" in status_message(created.text)
    assert 'readonly class="copy-link"' in created.text

    invitation = await Invitation.get().prefetch_related("created_by__actor")
    assert invitation.email == "carol@gemeente-x.nl"
    assert invitation.role == Role.COMMUNICATIONS
    assert invitation.token_hash == token_hash(token)
    assert invitation.token_hash != token  # only the hash is kept

    listing = await admin.get("/admin/invitations")
    assert token not in listing.text  # shown once, never again
    row = row_of(listing.text, "carol@gemeente-x.nl")
    assert "Communications" in row
    assert "Alice Admin" in row
    assert "<time datetime=" in row
    assert '<th scope="col">' in listing.text


async def test_invitation_for_anyone(browser, alice):
    admin = await browser(alice)
    created = await admin.submit("/admin/invitations", {"email": "  ", "role": "member"})
    assert created.status_code == 200
    shown_link(created.text, "invite")
    assert "Anyone with the link" in created.text
    assert (await Invitation.get()).email == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-address", "role": "member"}, "Enter a valid email address."),
        ({"email": "", "role": "emperor"}, "Choose a role from the list."),
        ({"email": "", "role": ""}, "Choose a role from the list."),
    ],
)
async def test_invalid_invitation_is_refused(browser, alice, data, message):
    admin = await browser(alice)
    response = await admin.submit("/admin/invitations", data)
    assert response.status_code == 400
    assert message in response.text
    assert BASE_URL + "/invite/" not in response.text
    assert await Invitation.all().count() == 0


async def test_withdraw_invitation(browser, alice):
    admin = await browser(alice)
    keep = await accounts.create_invitation(alice, "keep@gemeente-x.nl")
    token = await accounts.create_invitation(alice, "carol@gemeente-x.nl")
    invitation = await Invitation.get(email="carol@gemeente-x.nl")
    page = await admin.get("/admin/invitations")
    assert f'action="/admin/invitations/{invitation.id}/withdraw"' in page.text
    assert 'Withdraw<span class="visually-hidden"> the invitation for carol@gemeente-x.nl' in (
        page.text
    )

    response = await admin.submit(f"/admin/invitations/{invitation.id}/withdraw")
    assert response.status_code == 303
    listing = await admin.get(response.headers["location"])
    assert "The invitation has been withdrawn." in status_message(listing.text)
    assert "carol@gemeente-x.nl" not in listing.text
    assert "keep@gemeente-x.nl" in listing.text
    assert not await Invitation.filter(id=invitation.id).exists()
    dead = await (await browser()).get(f"/invite/{token}")
    assert dead.status_code == 404
    assert (await accounts.open_invitation(keep)).email == "keep@gemeente-x.nl"


@pytest.mark.parametrize("bad_id", ["abc", "99999999999999999999", "-1", "%C2%B2", "0"])
async def test_withdraw_with_a_bad_id_is_not_an_error(browser, alice, bad_id):
    admin = await browser(alice)
    await accounts.create_invitation(alice)
    response = await admin.submit(f"/admin/invitations/{bad_id}/withdraw")
    assert response.status_code in (303, 404)
    assert await Invitation.all().count() == 1


# --- roles ---------------------------------------------------------------------------------------


async def test_change_role(browser, alice, bob):
    admin = await browser(alice)
    page = await admin.get("/admin/accounts")
    assert f'<label for="role-{bob.id}" class="visually-hidden">Role of Bob Burger</label>' in (
        page.text
    )
    response = await admin.submit(f"/admin/accounts/{bob.id}/role", {"role": "communications"})
    assert response.status_code == 303
    listing = await admin.get(response.headers["location"])
    assert "Bob Burger now has the role Communications." in status_message(listing.text)
    assert (await Account.get(id=bob.id)).role == Role.COMMUNICATIONS
    assert '<option value="communications" selected>' in row_of(listing.text, "Bob Burger")

    # Made an administrator, bob can open the admin pages at once.
    bobs = await browser(bob)
    assert (await bobs.get("/admin")).status_code == 403
    await admin.submit(f"/admin/accounts/{bob.id}/role", {"role": "admin"})
    assert (await bobs.get("/admin")).status_code == 200


async def test_role_change_errors_are_messages(browser, alice, bob):
    admin = await browser(alice)
    unknown = await admin.submit(f"/admin/accounts/{bob.id}/role", {"role": "emperor"})
    assert unknown.status_code == 400
    assert "Choose a role from the list." in unknown.text
    assert (await Account.get(id=bob.id)).role == Role.MEMBER

    myself = await admin.submit(f"/admin/accounts/{alice.id}/role", {"role": "member"})
    assert myself.status_code == 403
    assert "You cannot take away your own administrator role." in myself.text
    assert '<table class="data-table">' in myself.text  # still the accounts page
    assert (await Account.get(id=alice.id)).role == Role.ADMIN

    nobody = await admin.submit("/admin/accounts/9999/role", {"role": "member"})
    assert nobody.status_code == 404
    assert "No such account." in nobody.text
    huge = await admin.submit("/admin/accounts/99999999999999999999/role", {"role": "member"})
    assert huge.status_code == 404


# --- deactivation --------------------------------------------------------------------------------


async def test_deactivate_ends_sessions_and_blocks_sign_in(browser, alice, bob):
    bobs_laptop = await browser(bob)
    assert (await bobs_laptop.get("/notifications")).status_code == 200
    admin = await browser(alice)
    response = await admin.submit(f"/admin/accounts/{bob.id}/active", {"active": "0"})
    assert response.status_code == 303
    listing = await admin.get(response.headers["location"])
    assert "Bob Burger has been deactivated and signed out everywhere." in status_message(
        listing.text
    )
    row = row_of(listing.text, "Bob Burger")
    assert "Deactivated" in row
    assert "Reactivate" in row

    assert not (await Account.get(id=bob.id)).is_active
    assert await WebSession.filter(account_id=bob.id).count() == 0
    kicked_out = await bobs_laptop.get("/notifications")
    assert kicked_out.status_code == 303
    assert "expired=1" in kicked_out.headers["location"]
    again = await browser()
    refused = await again.submit("/login", {"login": "bob", "password": PASSWORD})
    assert refused.status_code == 400
    assert "The name or password is not right." in refused.text
    assert not again.cookies.get(SESSION_COOKIE)

    # Reactivated, bob can sign in again.
    back = await admin.submit(f"/admin/accounts/{bob.id}/active", {"active": "1"})
    listing = await admin.get(back.headers["location"])
    assert "Bob Burger can sign in again." in status_message(listing.text)
    assert (await Account.get(id=bob.id)).is_active
    signed_in = await again.submit("/login", {"login": "bob", "password": PASSWORD})
    assert signed_in.status_code == 303


async def test_admin_cannot_deactivate_themselves(browser, alice, bob):
    admin = await browser(alice)
    page = await admin.get("/admin/accounts")
    assert "Deactivate" not in row_of(page.text, "Alice Admin")
    assert f'action="/admin/accounts/{bob.id}/active"' in page.text
    response = await admin.submit(f"/admin/accounts/{alice.id}/active", {"active": "0"})
    assert response.status_code == 403
    assert "You cannot deactivate your own account." in response.text
    assert (await Account.get(id=alice.id)).is_active
    assert (await admin.get("/admin")).status_code == 200


async def test_accounts_list_shows_everyone(browser, alice, bob):
    admin = await browser(alice)
    await make_account("carol", Role.COMMUNICATIONS, "Carol Clerk")
    person = await browser()
    await person.submit("/login", {"login": "carol", "password": PASSWORD})
    page = await admin.get("/admin/accounts")
    assert page.status_code == 200
    assert "3 accounts" in page.text
    bob_row = row_of(page.text, "Bob Burger")
    for text in ["@bob", "bob@gemeente-x.nl", "Active", "Never"]:
        assert text in bob_row
    carol_row = row_of(page.text, "Carol Clerk")
    assert "Never" not in carol_row
    assert "<time datetime=" in carol_row
    assert '<option value="communications" selected>' in carol_row
    assert "(you)" in row_of(page.text, "Alice Admin")
    # Buttons name the person they act on, for screen-reader users.
    assert '<span class="visually-hidden"> for Bob Burger</span>' in bob_row
    assert '<span class="visually-hidden"> Bob Burger</span>' in bob_row


async def test_password_reset_link_is_shown_once_and_replaces_older_links(browser, alice, bob):
    admin = await browser(alice)
    first = shown_link((await admin.submit(f"/admin/accounts/{bob.id}/reset")).text, "reset")
    issued = await admin.submit(f"/admin/accounts/{bob.id}/reset")
    assert issued.status_code == 200
    assert "Password reset link for Bob Burger (@bob)." in status_message(issued.text)
    second = shown_link(issued.text, "reset")
    assert second != first
    assert second not in (await admin.get("/admin/accounts")).text
    person = await browser()
    assert (await person.get(f"/reset/{first}")).status_code == 404
    assert (await person.get(f"/reset/{second}")).status_code == 200
    assert all(r.token_hash != second for r in await PasswordReset.all())


async def test_reset_for_unknown_account_is_a_message(browser, alice):
    admin = await browser(alice)
    response = await admin.submit("/admin/accounts/4242/reset")
    assert response.status_code == 404
    assert "No such account." in response.text
    assert await PasswordReset.all().count() == 0


# --- self sign-up domains ------------------------------------------------------------------------


async def test_signup_domains_are_cleaned_and_saved(browser, alice):
    admin = await browser(alice)
    page = await admin.get("/admin/signup")
    assert "Sign-up is closed: people join by invitation only." in page.text
    response = await admin.submit(
        "/admin/signup",
        {"signup_domains": "gemeente-x.nl\r\n@Provincie-Y.NL\r\n\r\ngemeente-x.nl, rijk.nl"},
    )
    assert response.status_code == 303
    assert await accounts.signup_domains() == ["gemeente-x.nl", "provincie-y.nl", "rijk.nl"]
    page = await admin.get(response.headers["location"])
    assert "Saved." in status_message(page.text)
    assert "gemeente-x.nl\nprovincie-y.nl\nrijk.nl</textarea>" in page.text
    assert "Sign-up is open to email addresses at @gemeente-x.nl, @provincie-y.nl, @rijk.nl." in (
        page.text
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gemeente-x.nl\nexample", "example is not a domain name."),
        ("https://gemeente-x.nl", "https://gemeente-x.nl is not a domain name."),
        ("gemeente x.nl", "gemeente is not a domain name."),
        ("a.nl\n" * 1500, "Use at most 5000 characters."),
    ],
)
async def test_bad_signup_domains_are_refused(browser, alice, text, message):
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    admin = await browser(alice)
    response = await admin.submit("/admin/signup", {"signup_domains": text})
    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert await accounts.signup_domains() == ["gemeente-x.nl"]


async def test_empty_signup_domains_close_sign_up(browser, alice):
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    admin = await browser(alice)
    response = await admin.submit("/admin/signup", {"signup_domains": "  \n "})
    assert response.status_code == 303
    assert await accounts.signup_domains() == []
    assert "Sign-up is closed here." in (await (await browser()).get("/signup")).text


# --- federation ----------------------------------------------------------------------------------


async def test_federation_policy_is_chosen_and_saved(browser, alice):
    admin = await browser(alice)
    page = await admin.get("/admin/federation")
    assert "Federating with every server." in page.text
    assert 'value="open" aria-describedby="hint-open" checked' in page.text

    response = await admin.submit(
        "/admin/federation",
        {
            "mode": "allowlist",
            "domains": "Gemeente-Y.nl, @minbzk.nl\nminbzk.nl social.gemeente-y.nl.",
        },
    )

    assert response.status_code == 303
    policy = await federation_policy.current()
    assert policy.mode == "allowlist"
    assert policy.domains == ("gemeente-y.nl", "minbzk.nl", "social.gemeente-y.nl")
    page = await admin.get(response.headers["location"])
    assert "Saved." in status_message(page.text)
    assert "Federating only with gemeente-y.nl, minbzk.nl, social.gemeente-y.nl." in page.text
    assert 'value="allowlist" aria-describedby="hint-allowlist" checked' in page.text
    assert "Federating only with" in (await admin.get("/admin")).text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"mode": "blocklist", "domains": "good.nl bad_domain!.nl"},
            "domains",
            "bad_domain!.nl is not a domain name.",
        ),
        ({"mode": "everything", "domains": ""}, "mode", "Choose open, blocklist or allowlist."),
        (
            {"mode": "blocklist", "domains": "a.nl " * 40_001},
            "domains",
            "Use at most 200000 characters.",
        ),
    ],
)
async def test_bad_federation_settings_are_refused_and_nothing_changes(
    browser, alice, data, field, message
):
    await federation_policy.set_policy(alice, "blocklist", "spam.example")
    admin = await browser(alice)
    response = await admin.submit("/admin/federation", data)
    assert response.status_code == 400
    assert message in response.text
    assert f'href="#field-{field}"' in response.text
    policy = await federation_policy.current()
    assert (policy.mode, policy.domains) == ("blocklist", ("spam.example",))


async def test_federation_form_needs_the_csrf_token(browser, alice):
    admin = await browser(alice)
    response = await admin.post("/admin/federation", data={"mode": "allowlist", "domains": ""})
    assert response.status_code == 403
    assert (await federation_policy.current()).mode == "open"


async def test_known_servers_show_their_delivery_health(browser, alice, bob):
    for name, host in (
        ("ann", "gov-b.example"),
        ("ben", "gov-b.example"),
        ("cas", "gov-c.example"),
    ):
        await Actor.create(username=name, domain=host, uri=f"https://{host}/users/{name}")
    await Delivery.create(
        activity_id="https://intranet.test/x",
        body="{}",
        inbox_url="https://down.example/inbox",
        host="down.example",
        signer=bob.actor,
        next_attempt_at=now(),
    )
    await DeliveryHost.create(
        host="down.example", failures=12, unavailable_until=now() + timedelta(hours=1)
    )
    await DeliveryHost.create(host="gov-b.example", failures=0, last_success_at=now())
    await federation_policy.set_policy(alice, "blocklist", "gov-c.example")

    page = (await (await browser(alice)).get("/admin/federation")).text

    assert "3 servers" in page
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", page, re.S)
    assert [host for host, _ in rows] == ["down.example", "gov-b.example", "gov-c.example"]
    cells = {host: re.findall(r"<td>(.*?)</td>", rest, re.S) for host, rest in rows}
    assert cells["down.example"][1:4] == ["0", "1", "12"]
    assert "<time" in cells["down.example"][4] and "Never" in cells["down.example"][5]
    assert cells["gov-b.example"][1:5] == ["2", "0", "0", "Not resting"]
    assert "Blocked" in cells["gov-c.example"][0] and "Allowed" in cells["gov-b.example"][0]


# --- reports -------------------------------------------------------------------------------------


async def test_report_queue_lists_open_reports_and_resolves_them(browser, alice, bob):
    post = await Post.create(
        uri="https://intranet.test/posts/1", author=bob.actor, source="Buy my stuff"
    )
    await Post.filter(id=post.id).update(uri=f"{BASE_URL}/posts/{post.id}")
    mastodon = await Actor.create(
        username="mod", domain="social.example", uri="https://social.example/actor"
    )
    report = await reports.record_flag(
        reporter=mastodon,
        origin="social.example",
        target=bob.actor,
        post_uris=[f"{BASE_URL}/posts/{post.id}", "https://elsewhere.example/1"],
        comment="Spam <script>x</script>\nagain",
        uri="https://social.example/flags/1",
    )
    admin = await browser(alice)

    page = (await admin.get("/admin/reports")).text

    assert "Report about Bob Burger" in page and 'href="/@bob"' in page
    assert 'href="/@mod@social.example"' in page and "social.example" in page
    assert f'href="/posts/{post.id}">Buy my stuff</a>' in page
    assert "elsewhere.example" not in page
    assert "Spam &lt;script&gt;x&lt;/script&gt;<br>again" in page
    assert "1 open report" in (await admin.get("/admin")).text

    response = await admin.submit(f"/admin/reports/{report.id}/resolve")

    assert response.status_code == 303
    page = (await admin.get(response.headers["location"])).text
    assert "The report is resolved." in status_message(page) and "No open reports." in page
    resolved = await Report.get(id=report.id)
    assert resolved.resolved_at is not None and resolved.resolved_by_id == alice.id


@pytest.mark.parametrize("report_id", ["999", "abc", "99999999999"])
async def test_resolving_an_unknown_report_is_404(browser, alice, report_id):
    response = await (await browser(alice)).submit(f"/admin/reports/{report_id}/resolve")
    assert response.status_code == 404


async def test_members_cannot_resolve_reports(browser, alice, bob):
    report = await reports.record_flag(
        reporter=None, origin="x.example", target=alice.actor, post_uris=[], comment=""
    )
    response = await (await browser(bob)).submit(f"/admin/reports/{report.id}/resolve")
    assert response.status_code == 403
    assert (await Report.get(id=report.id)).resolved_at is None
