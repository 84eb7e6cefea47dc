"""CSRF tokens are bound to the session they were issued for: a token from another
session, or from a page seen before signing in, is refused even with a matching
pre-session cookie (planted, for instance, from a neighbouring subdomain)."""

from __future__ import annotations

import re

from conftest import PASSWORD

from fediverse_intranet.models import Post
from web.context import CSRF_COOKIE, SESSION_COOKIE

FORM_EXPIRED = "This form has expired. Go back, reload the page and try again."


def token_on(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no form token on the page"
    return match.group(1)


async def compose(person, token: str):
    return await person.post("/compose", data={"csrf_token": token, "source": "Hello all"})


async def test_a_token_from_another_session_is_refused(browser, alice, bob):
    attacker = await browser(alice)
    victim = await browser(bob)
    stolen = token_on((await attacker.get("/compose")).text)
    # Even with the attacker's pre-session cookie planted beside the victim's session.
    planted = attacker.cookies[CSRF_COOKIE]
    victim.cookies.delete(CSRF_COOKIE)
    victim.cookies.set(CSRF_COOKIE, planted, domain="intranet.test")
    response = await compose(victim, stolen)
    assert response.status_code == 403
    assert FORM_EXPIRED in response.text
    assert await Post.all().count() == 0
    # The victim's own page token works: the refusal is about the binding, not the form.
    assert (await compose(victim, token_on((await victim.get("/compose")).text))).status_code == 303


async def test_a_token_from_a_signed_out_page_is_refused_once_signed_in(browser, bob):
    person = await browser()
    anonymous = token_on((await person.get("/login")).text)
    signed_in = await person.post(
        "/login", data={"csrf_token": anonymous, "login": "bob", "password": PASSWORD}
    )
    assert signed_in.status_code == 303 and person.cookies.get(SESSION_COOKIE)
    response = await compose(person, anonymous)
    assert response.status_code == 403 and FORM_EXPIRED in response.text
    assert await Post.all().count() == 0


async def test_a_token_of_an_ended_session_is_refused_in_the_next(browser, bob):
    person = await browser()
    await person.submit("/login", {"login": "bob", "password": PASSWORD})
    old = token_on((await person.get("/compose")).text)
    assert (await person.post("/logout", data={"csrf_token": old})).status_code == 303
    await person.submit("/login", {"login": "bob", "password": PASSWORD})
    response = await compose(person, old)
    assert response.status_code == 403 and FORM_EXPIRED in response.text


async def test_signing_in_and_out_renews_the_pre_session_cookie(browser, bob):
    person = await browser()
    before = person.cookies[CSRF_COOKIE]
    await person.submit("/login", {"login": "bob", "password": PASSWORD})
    during = person.cookies[CSRF_COOKIE]
    await person.submit("/logout")
    assert len({before, during, person.cookies[CSRF_COOKIE]}) == 3
