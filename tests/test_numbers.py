"""Numbers in URLs and forms (issue 19, point 14): anything that is not plain ASCII digits in
range is a 400, a 404 or a form error, never a 500. ``'²'.isdigit()`` is True and ``int('²')``
raises; ``int('١٢')`` is 12; a number past 2**31 - 1 is refused by PostgreSQL.

The walk is generated from the app's route table, so a route added later is covered too.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from starlette.routing import Mount, Route

from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import groups, posts
from fediverse_intranet.services.groups import GroupForm
from tests.conftest import BASE_URL, Browser
from web.context import SESSION_COOKIE

HOSTILE = [
    "²",
    "١٢",
    "１２",
    "1e3",
    " 1",
    "1 ",
    "+1",
    "-1",
    "1_0",
    "0x1",
    "",
    "2147483648",
    "9223372036854775808",
    "9" * 30,
    "9" * 500,
]
# Query parameters and form fields that carry a number somewhere in the web or AP routes.
NUMERIC_QUERY = ("before", "after", "reply_to", "account", "found")
NUMERIC_FORM = ("in_reply_to", "remove", "up_to", "level_python")


@pytest.mark.parametrize("raw", HOSTILE)
def test_only_plain_ascii_digits_in_range_are_numbers(raw):
    assert parse_int(raw) is None


@pytest.mark.parametrize(
    ("raw", "low", "high", "expected"),
    [("0", 0, 10, 0), ("007", 0, 10, 7), ("10", 0, 10, 10), ("11", 0, 10, None), ("0", 1, 9, None)],
)
def test_numbers_in_range(raw, low, high, expected):
    assert parse_int(raw, low=low, high=high) == expected


def _routes(routes, prefix=""):
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from _routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


@pytest.fixture
async def admin_browser(app, alice):
    """Alice (an administrator) signed in, with a request that never raises on a 500."""
    from fediverse_intranet.services import accounts

    person = Browser(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=BASE_URL
    )
    person.cookies.set(SESSION_COOKIE, await accounts.start_session(alice))
    await person.get("/login")
    yield person
    await person.aclose()


async def _defaults(alice) -> dict[str, str]:
    """A real value for each path parameter, so a hostile one in another place is reached."""
    group = await groups.create_group(alice, GroupForm(handle="tuin", name="Tuin"))
    post = await posts.create_post(alice.actor, posts.Draft("hallo #tuin"))
    return {
        "username": "alice",
        "handle": group.actor.username if group.actor_id else "tuin",
        "post_id": str(post.id),
        "actor_id": str(alice.actor.id),
        "account_id": str(alice.id),
        "action": "ban",
        "tag": "tuin",
        "name": "x.png",
        "token": "x",
    }


async def test_hostile_numbers_in_every_route_are_never_a_server_error(app, alice, admin_browser):
    defaults = await _defaults(alice)
    failures = []

    async def check(method: str, url: str, numeric: bool, data: dict | None = None) -> None:
        if method == "GET":
            response = await admin_browser.get(url)
        else:
            response = await admin_browser.submit(url, data)
        wrong = response.status_code >= 500 or (numeric and response.status_code not in (400, 404))
        if wrong:
            failures.append(f"{method} {url[:100]} {data or ''} -> {response.status_code}")

    for path, route in _routes(app.routes):
        params = list(route.param_convertors)
        methods = route.methods or {"GET"}
        method = "GET" if "GET" in methods else "POST"
        for name in params:
            for value in HOSTILE:
                filled = {n: quote(defaults.get(n, "x"), safe="") for n in params}
                filled[name] = quote(value, safe="")
                url = path.format(**filled)
                await check(method, url, numeric=name.endswith("id"))
        if "GET" in methods:
            filled = {n: quote(defaults.get(n, "x"), safe="") for n in params}
            for value in HOSTILE:
                query = "&".join(f"{n}={quote(value, safe='')}" for n in NUMERIC_QUERY)
                await check("GET", f"{path.format(**filled)}?{query}", numeric=False)
    assert failures == [], "\n".join(failures)


# The home cursor is <post>_<boost>, and clamps a large one to the newest: those two are
# cursors there, not hostile values.
HOME_CURSORS = ("1_0", "2147483648")
CURSOR_CASES = [
    (url, value)
    for url in ["/", "/notifications", "/@alice", "/groups/tuin", "/users/alice/outbox?page=true"]
    for value in HOSTILE
    if not (url == "/" and value in HOME_CURSORS)
]


@pytest.mark.parametrize(("url", "value"), CURSOR_CASES)
async def test_a_cursor_that_is_not_an_id_is_400(app, alice, admin_browser, url, value):
    await _defaults(alice)
    glue = "&" if "?" in url else "?"
    response = await admin_browser.get(f"{url}{glue}before={quote(value, safe='')}")
    assert response.status_code == 400, (url, value)


@pytest.mark.parametrize("value", [v for v in HOSTILE if v != ""])  # empty: "none" there
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/compose", "in_reply_to"),
        ("/settings/mutes", "remove"),
        ("/notifications/read", "up_to"),
    ],
)
async def test_a_number_in_a_form_that_is_not_an_id_is_refused(
    app, alice, admin_browser, url, field, value
):
    response = await admin_browser.submit(url, {field: value, "source": "my draft"})
    assert response.status_code == 400, (url, value)
    if url == "/compose":
        assert "my draft" in response.text  # the draft is kept beside the error


@pytest.mark.parametrize("value", HOSTILE)
async def test_a_level_that_is_not_a_level_is_a_form_error(app, alice, admin_browser, value):
    response = await admin_browser.submit(
        "/settings/profile", {"topics": "python", "level_python": value}
    )
    assert response.status_code == 400, value
