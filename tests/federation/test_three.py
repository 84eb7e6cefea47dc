"""Three instances: one delivery per server however many followers live there (the shared
inbox), and an allowlist that keeps a server out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.federation.conftest import Federation
from tests.federation.people import eventually, text_of
from tests.federation.test_flows import SignIn, marker


async def test_two_followers_on_one_server_get_one_delivery(
    federation: Federation, sign_in: SignIn
) -> None:
    a, b, c = federation.a, federation.b, federation.c
    federation.accounts((a, "ada"), (a, "amy"), (b, "ben"), (c, "cora"))
    readers = [await sign_in(a, "ada"), await sign_in(a, "amy"), await sign_in(c, "cora")]
    ben = await sign_in(b, "ben")
    for reader in readers:
        await reader.follow(ben.handle)
    for reader in readers:
        await reader.wait_following(ben.handle)

    news = marker()
    await ben.write(f"News for three readers on two servers {news}")
    for reader in readers:
        await reader.wait_for_post(news)

    inboxes = b.query(
        "SELECT inbox_url FROM delivery WHERE body LIKE ? ORDER BY inbox_url", f"%{news}%"
    )
    assert inboxes == [("https://gov-a.test/inbox",), ("https://gov-c.test/inbox",)]
    assert a.query("SELECT count(*) FROM inbox_item WHERE body LIKE ?", f"%{news}%") == [(1,)]


@pytest.fixture
async def allowlist_on_a(federation: Federation, sign_in: SignIn) -> AsyncIterator[None]:
    """gov-a's admin lets it federate with gov-b only (Administration > Federation), and
    opens it to every server again afterwards."""
    federation.accounts((federation.a, "keeper"), admin=True)
    keeper = await sign_in(federation.a, "keeper")

    async def choose(mode: str, domains: str) -> None:
        page = "/admin/federation"
        answer = await keeper.submit(page, page, mode=mode, domains=domains)
        assert answer.status_code == 303, text_of(answer.text)[:300]

    await choose("allowlist", "gov-b.test")
    try:
        yield
    finally:
        await choose("open", "")


async def test_allowlist_keeps_other_servers_out(
    federation: Federation, sign_in: SignIn, allowlist_on_a: None
) -> None:
    a, b, c = federation.a, federation.b, federation.c
    federation.accounts((a, "abe"), (b, "bea"), (c, "cyd"))
    abe, bea, cyd = await sign_in(a, "abe"), await sign_in(b, "bea"), await sign_in(c, "cyd")

    # Nobody on gov-a can look up someone on gov-c ...
    refused = await abe.web.get("/people", params={"q": "@cyd@gov-c.test"})
    assert refused.status_code in {400, 403, 404}, refused.status_code
    assert "gov-c.test" in text_of(refused.text)

    # ... and gov-a refuses what gov-c sends: cyd's follow request is turned down for good.
    await cyd.follow(abe.handle)

    async def refused_for_good() -> list[tuple]:
        return c.query(
            "SELECT state, last_status FROM delivery WHERE json_extract(body, '$.type') = 'Follow'"
            " AND json_extract(body, '$.actor') = ? AND state <> 'pending'",
            cyd.actor_id,
        )

    assert await eventually(refused_for_good, "gov-c's Follow refused") == [("failed", 403)]
    assert "Requested" in text_of(await cyd.page(f"/@{abe.handle}"))

    # gov-b, on the list, federates as before.
    await bea.follow(abe.handle)
    await bea.wait_following(abe.handle)
    assert "1 follower" in text_of(await abe.page("/@abe"))
