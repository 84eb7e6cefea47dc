"""Finding and following someone on another server, as a person does it in the browser.

The other server is a static peer on 127.0.0.1 (tests/static_peer.py), reached over real
HTTP through our fetcher; its answers (Accept, Reject) come in through our signed inbox and
the processor, as they would from Mastodon.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from static_peer import AS, JRD, Peer, signed_headers

from fediverse_intranet.models import Actor, Delivery, Follow, InboxItem
from fediverse_intranet.services import (
    federation_policy,
    social,
)
from fediverse_intranet.settings import Settings
from inbox import processor
from tests.conftest import BASE_URL, LOOPBACK

ALICE = f"{BASE_URL}/users/alice"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Allowed to reach 127.0.0.0/8, where the peer runs."""
    return dataclasses.replace(settings, federation_private_networks=LOOPBACK)


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    server = Peer()
    await server.start()
    yield server
    await server.stop()


def carla_of(peer: Peer) -> dict[str, Any]:
    return peer.add_person(
        "carla",
        icon={"type": "Image", "mediaType": "image/png", "url": peer.url("/avatar.png")},
        attachment=[
            {"type": "PropertyValue", "name": "Team", "value": "Informatiebeveiliging"},
            {
                "type": "PropertyValue",
                "name": "Site",
                "value": '<a href="https://example.org" onclick="x()">example.org</a>',
            },
        ],
        knowsAbout=["Privacy", "archives"],
        tag=[{"type": "Hashtag", "name": "#Woo", "href": peer.url("/tags/woo")}],
    )


async def answer(client, peer: Peer, kind: str, follow: Any, n: int = 0, name: str = "carla"):
    """The peer's person answers a follow with Accept or Reject, signed, to alice's inbox."""
    actor = peer.url(f"/users/{name}")
    activity = {
        "@context": AS,
        "id": f"{actor}#{kind.lower()}s/1",
        "type": kind,
        "actor": actor,
        "object": follow,
    }
    body = json.dumps(activity).encode()
    path = "/users/alice/inbox"
    headers = signed_headers("POST", BASE_URL + path, actor + "#main-key", n, body)
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 202, response.text
    await processor.process_pending_once()
    return await InboxItem.get(activity_id=activity["id"])


async def follow_carla(browser, alice, peer: Peer) -> tuple[Any, str]:
    carla_of(peer)
    person = await browser(alice)
    found = await person.get(f"/people?q=@carla@{peer.host}")
    assert found.status_code == 303
    response = await person.submit(f"{found.headers['location']}/follow")
    assert response.status_code == 303
    return person, found.headers["location"]


# --- finding -------------------------------------------------------------------------------------


async def test_search_by_handle_shows_the_remote_profile(browser, alice, peer):
    carla_of(peer)
    person = await browser(alice)

    found = await person.get("/people", params={"q": f"@carla@{peer.host}"})

    assert found.status_code == 303
    assert found.headers["location"] == f"/@carla@{peer.host}"
    page = (await person.get(found.headers["location"])).text
    assert "Carla" in page and f"@carla@{peer.host}" in page
    assert f"At {peer.host}, another server." in page
    assert "<b>privacy</b>" in page and "<script>alert" not in page  # sanitised summary
    assert "Informatiebeveiliging" in page and "onclick" not in page  # profile fields
    assert f'href="{peer.url("/avatar.png")}"' in page  # a link: CSP keeps remote images out
    for topic in ("privacy", "archives", "woo"):
        assert f'href="/experts?topic={topic}"' in page
    assert f'action="/@carla@{peer.host}/follow"' in page
    stored = await Actor.get(uri=peer.url("/users/carla"))
    assert (stored.username, stored.domain) == ("carla", peer.host)


@pytest.mark.parametrize("form", ["handle", "url", "profile page"])
async def test_search_accepts_the_ways_people_write_someone(browser, alice, peer, form):
    carla_of(peer)
    profile_page = peer.url("/@carla")
    jrd = {
        "subject": f"acct:carla@{peer.host}",
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": peer.url("/users/carla")}
        ],
    }
    resource = quote(profile_page, safe="")
    peer.serve(f"/.well-known/webfinger?resource={resource}", jrd, media_type=JRD)
    query = {
        "handle": f"carla@{peer.host}",
        "url": peer.url("/users/carla"),
        "profile page": profile_page,
    }[form]
    person = await browser(alice)
    found = await person.get("/people", params={"q": f"  {query} "})
    assert found.headers["location"] == f"/@carla@{peer.host}"


async def test_a_profile_address_of_someone_unknown_is_looked_up(browser, alice, peer):
    carla_of(peer)
    person = await browser(alice)
    page = await person.get(f"/@carla@{peer.host}")
    assert page.status_code == 200 and "Carla" in page.text


async def test_search_for_a_colleague_here_by_full_handle(browser, alice, bob, peer):
    person = await browser(alice)
    found = await person.get("/people", params={"q": "@bob@intranet.test"})
    assert found.headers["location"] == "/@bob"
    assert peer.seen == []


async def test_unknown_handle_is_said_plainly(browser, alice, peer):
    person = await browser(alice)
    page = await person.get("/people", params={"q": f"@nobody@{peer.host}"})
    assert page.status_code == 404
    assert f"Nobody called @nobody@{peer.host} is known at {peer.host}." in page.text
    assert 'aria-invalid="true"' in page.text  # beside the search field


async def test_unreachable_server_is_said_plainly(browser, alice, peer):
    port = peer.port
    await peer.stop()
    person = await browser(alice)
    page = await person.get("/people", params={"q": f"@carla@127.0.0.1:{port}"})
    assert page.status_code == 400
    assert f"127.0.0.1:{port} could not be reached or gave no usable answer" in page.text


async def test_blocked_server_is_not_even_asked(browser, alice, peer):
    carla_of(peer)
    await federation_policy.set_policy(alice, "blocklist", "127.0.0.1")
    person = await browser(alice)
    page = await person.get("/people", params={"q": f"@carla@{peer.host}"})
    assert page.status_code == 403
    assert f"This instance does not federate with {peer.host}." in page.text
    assert peer.seen == []


@pytest.mark.parametrize("query", ["@carla@-bad-", "@car la@x.example", "http://"])
async def test_malformed_handles_are_a_field_error_or_a_plain_search(browser, alice, query):
    person = await browser(alice)
    page = await person.get("/people", params={"q": query})
    assert page.status_code in (200, 400)
    assert not await Actor.filter(domain__not="").exists()


async def test_a_server_answering_nonsense_is_unreachable_not_a_crash(browser, alice, peer):
    carla = carla_of(peer)
    peer.serve("/users/carla", {**carla, "id": peer.url("/users/someone-else")})
    person = await browser(alice)
    page = await person.get("/people", params={"q": f"@carla@{peer.host}"})
    assert page.status_code == 404 and "Nobody called" in page.text


# --- following -----------------------------------------------------------------------------------


async def test_follow_is_a_request_with_a_queued_follow_activity(browser, alice, peer):
    person, profile = await follow_carla(browser, alice, peer)

    row = await Follow.get(follower=alice.actor).select_related("followee")
    assert not row.accepted and row.followee.uri == peer.url("/users/carla")
    assert row.uri.startswith(ALICE + "#follows/")
    delivery = await Delivery.get()
    assert delivery.inbox_url == peer.url("/users/carla/inbox")  # her own inbox, as Mastodon
    assert delivery.signer_id == alice.actor.id
    sent = json.loads(delivery.body)
    assert (sent["type"], sent["id"], sent["actor"], sent["object"]) == (
        "Follow",
        row.uri,
        ALICE,
        peer.url("/users/carla"),
    )
    page = (await person.get(profile)).text
    assert "Requested: you will follow Carla once their server accepts." in page
    assert "Withdraw request" in page
    assert not await social.is_following(alice.actor, row.followee)

    await person.submit(f"{profile}/follow")  # asking again sends nothing new
    assert await Delivery.all().count() == 1 and await Follow.all().count() == 1


@pytest.mark.parametrize("shape", ["id only", "embedded", "embedded without id"])
async def test_accept_makes_the_follow_take_effect(browser, client, alice, peer, shape):
    person, profile = await follow_carla(browser, alice, peer)
    row = await Follow.get()
    carla = peer.url("/users/carla")
    follow = {
        "id only": row.uri,
        "embedded": {"id": row.uri, "type": "Follow", "actor": ALICE, "object": carla},
        "embedded without id": {"type": "Follow", "actor": ALICE, "object": carla},
    }[shape]

    item = await answer(client, peer, "Accept", follow)

    assert item.error == ""
    assert (await Follow.get()).accepted
    page = (await person.get(profile)).text
    assert "You follow Carla." in page and "1 follower here" in page


async def test_reject_removes_the_request(browser, client, alice, peer):
    person, profile = await follow_carla(browser, alice, peer)
    await answer(client, peer, "Reject", (await Follow.get()).uri)
    assert not await Follow.exists()
    assert f'action="{profile}/follow"' in (await person.get(profile)).text


async def test_only_the_followed_person_can_accept(browser, client, alice, peer):
    await follow_carla(browser, alice, peer)
    peer.add_person("mallory", n=1)
    item = await answer(client, peer, "Accept", (await Follow.get()).uri, n=1, name="mallory")
    assert item.error.startswith("ignored:")
    assert not (await Follow.get()).accepted


async def test_unfollow_sends_undo_and_removes_the_row(browser, client, alice, peer):
    person, profile = await follow_carla(browser, alice, peer)
    row = await Follow.get()
    await answer(client, peer, "Accept", row.uri)

    response = await person.submit(f"{profile}/unfollow")

    assert response.status_code == 303
    assert not await Follow.exists()
    undo = json.loads((await Delivery.filter(body__contains='"Undo"').get()).body)
    assert undo["actor"] == ALICE
    assert undo["object"]["type"] == "Follow" and undo["object"]["id"] == row.uri
    assert undo["object"]["object"] == peer.url("/users/carla")


async def test_withdrawing_a_request_also_sends_undo(browser, alice, peer):
    person, profile = await follow_carla(browser, alice, peer)
    await person.submit(f"{profile}/unfollow")
    assert not await Follow.exists()
    assert [json.loads(d.body)["type"] for d in await Delivery.all().order_by("id")] == [
        "Follow",
        "Undo",
    ]


async def test_no_follow_to_a_server_blocked_since(browser, alice, peer):
    carla_of(peer)
    person = await browser(alice)
    profile = (await person.get(f"/people?q=@carla@{peer.host}")).headers["location"]
    await federation_policy.set_policy(alice, "blocklist", "127.0.0.1")

    response = await person.submit(f"{profile}/follow")

    assert response.status_code == 403
    assert not await Follow.exists() and not await Delivery.exists()


async def test_local_follow_is_unchanged(browser, alice, bob):
    person = await browser(alice)
    await person.submit("/@bob/follow")
    row = await Follow.get()
    assert row.accepted and row.uri == ""
    assert not await Delivery.exists()
