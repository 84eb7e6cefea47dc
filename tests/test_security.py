"""Headers, CSRF and error pages that protect every page."""

from __future__ import annotations

from fediverse_intranet.models import Post
from web.context import CSRF_COOKIE


async def test_every_page_forbids_framing_sniffing_and_foreign_scripts(client):
    response = await client.get("/setup")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_cookies_are_httponly_and_samesite(client):
    response = await client.get("/setup")
    cookie = response.headers["set-cookie"].lower()
    assert CSRF_COOKIE in cookie and "httponly" in cookie and "samesite=lax" in cookie


async def test_a_planted_csrf_cookie_does_not_forge_a_form(browser, alice):
    person = await browser(alice)
    person.cookies.set(CSRF_COOKIE, "a" * 40)
    response = await person.post("/compose", data={"source": "x", "csrf_token": "a" * 40})
    assert response.status_code == 403
    assert await Post.all().count() == 0


async def test_unknown_page_and_wrong_method_get_friendly_pages(client):
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and "This page does not exist." in missing.text
    wrong = await client.put("/login")
    assert wrong.status_code == 405


async def test_dutch_browser_gets_dutch_page_language(client):
    response = await client.get("/setup", headers={"accept-language": "nl-NL,nl;q=0.9"})
    assert '<html lang="nl">' in response.text


async def test_oversized_body_is_refused_with_413(browser, alice):
    person = await browser(alice)
    response = await person.post(
        "/compose",
        content=b"x" * (41 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
